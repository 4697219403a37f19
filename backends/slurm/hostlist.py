"""Slurm host list expressions: node[1-3,7],gpu[01-02] <-> a list of names (no scontrol needed)."""

from __future__ import annotations

import re

_PART = re.compile(r"([^,\[]+)(?:\[([^\]]+)\])?([^,\[]*)")


def expand_hostlist(expression: str | None) -> list[str]:
    if not expression:
        return []
    names: list[str] = []
    pos = 0
    while pos < len(expression):
        m = _PART.match(expression, pos)
        if not m:
            raise ValueError(f"bad host list {expression!r} at {pos}")
        prefix, ranges, suffix = m.group(1), m.group(2), m.group(3)
        if ranges is None:
            names.append(prefix + suffix)
        else:
            for chunk in ranges.split(","):
                lo, _, hi = chunk.partition("-")
                width = len(lo)
                for n in range(int(lo), int(hi or lo) + 1):
                    names.append(f"{prefix}{str(n).zfill(width)}{suffix}")
        pos = m.end()
        if pos < len(expression) and expression[pos] == ",":
            pos += 1
    return names
