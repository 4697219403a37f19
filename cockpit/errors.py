"""Error text that names the exact place: `clusters -> hpc -> compute_nodes[1] -> memory_gb: ...`."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pydantic import ValidationError


def format_loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += (" -> " if out else "") + str(part)
    return out or "(top level)"


def _useful_loc(loc: Sequence[Any]) -> list[Any]:
    # pydantic adds union/tagged-union branch names ("list[HpcNode]", "function-after[...]");
    # users never wrote those, so leave them out of the path.
    return [p for p in loc if isinstance(p, int) or ("[" not in str(p) and "(" not in str(p))]


def format_validation_error(exc: ValidationError, prefix: Sequence[Any] = ()) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        loc = [*prefix, *_useful_loc(err["loc"])]
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        line = f"{format_loc(loc)}: {msg}"
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
