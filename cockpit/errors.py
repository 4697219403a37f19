"""Error text that names the exact place: `clusters -> hpc -> compute_nodes[1] -> memory_gb: ...`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:  # only formats pydantic's errors: the screen's first frame imports this, not pydantic
    from pydantic import ValidationError


def format_loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += (" -> " if out else "") + str(part)
    return out or "(top level)"


def _is_branch_tag(part: Any) -> bool:
    """pydantic names union branches in the path ("list[NodeSpec]", "ComputeNodeGroup",
    "function-after[...]"); users never wrote those."""
    if isinstance(part, int):
        return False
    text = str(part)
    return "[" in text or "(" in text or (text[:1].isupper() and text.isidentifier() and not text.isupper()
                                           and any(c.islower() for c in text) and "_" not in text)


def _useful_loc(loc: Sequence[Any]) -> list[Any]:
    return [p for p in loc if not _is_branch_tag(p)]


# "This value has the wrong type for branch X" errors: noise when another branch of the same
# union got further and reported something specific.
_TYPE_MISMATCH = {"model_type", "dict_type", "list_type", "model_attributes_type"}


def format_validation_error(exc: ValidationError, prefix: Sequence[Any] = ()) -> list[str]:
    errors = [(tuple(_useful_loc(e["loc"])), e) for e in exc.errors(include_url=False)]
    lines: list[str] = []
    seen: set[str] = set()
    for loc, err in errors:
        if err["type"] in _TYPE_MISMATCH and any(
            other is not err and len(other_loc) > len(loc) and other_loc[:len(loc)] == loc
            for other_loc, other in errors
        ):
            continue
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        line = f"{format_loc([*prefix, *loc])}: {msg}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


class ConfigError(Exception):
    """Invalid configuration or plan; `problems` are path-named lines. Exit code 2."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))

    def render(self) -> str:
        return f"{self.source}: invalid\n" + "\n".join(f"  {p}" for p in self.problems)
