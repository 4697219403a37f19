"""Run-time substitution: `${steps.<id>.<output>}` and `${run.<field>}` in a step's body.

A string that is exactly one reference takes the output's own type (a job id stays an int);
references inside longer text are formatted into it. `$$` is a literal `$`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from cockpit.errors import format_loc

_TOKEN = re.compile(r"\$\$|\$\{((?:steps|run)\.[A-Za-z0-9_.-]+)\}")


class RefError(Exception):
    """A reference that cannot be filled in (the step it names produced no such output)."""


def _dig(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(part)
    return value


def lookup(ref: str, outputs: Mapping[str, Mapping[str, Any]], run: Mapping[str, Any]) -> Any:
    parts = ref.split(".")
    if parts[0] == "run":
        try:
            return _dig(run, parts[1:])
        except KeyError:
            raise RefError(f"${{{ref}}}: unknown run field (known: {', '.join(run)})") from None
    step_id, path = parts[1], parts[2:]
    if step_id not in outputs:
        raise RefError(f"${{{ref}}}: step {step_id!r} has not passed, so it has no outputs")
    try:
        return _dig(outputs[step_id], path)
    except KeyError:
        known = ", ".join(sorted(map(str, outputs[step_id]))) or "none"
        raise RefError(f"${{{ref}}}: step {step_id!r} has no output {'.'.join(path)!r} (its outputs: {known})") from None


def resolve(node: Any, outputs: Mapping[str, Mapping[str, Any]], run: Mapping[str, Any], loc: list[Any] | None = None) -> Any:
    loc = loc or []
    if isinstance(node, str):
        if "$" not in node:
            return node
        whole = _TOKEN.fullmatch(node)
        try:
            if whole and whole.group(1):
                return lookup(whole.group(1), outputs, run)

            def sub(match: re.Match[str]) -> str:
                if match.group(0) == "$$":
                    return "$"
                value = lookup(match.group(1), outputs, run)
                return json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)

            return _TOKEN.sub(sub, node)
        except RefError as exc:
            raise RefError(f"{format_loc(loc)}: {exc}" if loc else str(exc)) from None
    if isinstance(node, Mapping):
        return {k: resolve(v, outputs, run, [*loc, k]) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [resolve(v, outputs, run, [*loc, i]) for i, v in enumerate(node)]
    return node
