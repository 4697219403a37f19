"""The shipped plans at a glance: name, seed ids, what each needs, its profiles (`cockpit plan list`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cockpit.errors import ConfigError


@dataclass(frozen=True)
class PlanEntry:
    path: Path
    name: str
    seeds: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    description: str = ""
    problems: tuple[str, ...] = field(default=())  # set when the file does not load

    def as_json(self) -> dict[str, object]:
        return {"plan": self.name, "file": str(self.path), "seeds": list(self.seeds), "requires": list(self.requires),
                "profiles": list(self.profiles), "description": self.description, "problems": list(self.problems)}


def default_plan_dir() -> Path:
    from cockpit import paths

    return Path(paths.WORKLOADS_DIR) / "plans"


def list_plans(directory: Path | None = None) -> list[PlanEntry]:
    """Every *.yaml plan in `directory` (default: the shipped workloads/plans), sorted by name.
    A file that does not load is listed with its problems instead of being left out."""
    from cockpit.plans.loader import load_plan

    directory = Path(directory) if directory is not None else default_plan_dir()
    if not directory.is_dir():
        raise ConfigError(str(directory), ["not a directory of plan files"])
    out = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            plan = load_plan(path).plan
        except ConfigError as exc:
            out.append(PlanEntry(path=path, name=path.stem, problems=tuple(exc.problems)))
            continue
        out.append(PlanEntry(path=path, name=plan.plan, seeds=tuple(plan.seeds), requires=tuple(plan.requires),
                             profiles=tuple(n if isinstance(v, dict) else f"{n} (unavailable)"
                                            for n, v in plan.profiles.items()),
                             description=" ".join(plan.description.split())))
    return out
