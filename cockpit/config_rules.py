"""Config rules beyond field types: keymap entries name a real command and a key Textual can
bind, the theme exists, `${VAR` references are closed. Each returns problem lines (empty: fine);
cockpit.config turns them into path-named errors."""

from __future__ import annotations

import re
from typing import Any, Mapping

MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
_UNCLOSED = re.compile(r"(?<!\$)\$\{(?![^{}]*(?:\{[^{}]*\}[^{}]*)*\})")


def _key_ok(spec: str) -> bool:
    from textual.keys import Keys, key_to_character

    names = {k.value for k in Keys}
    *mods, base = spec.split("+")
    if not base or any(m not in MODIFIERS for m in mods):
        return False
    if len(base) == 1 and base.isprintable() and not base.isspace():
        return True
    return base in names or "+".join(["ctrl", base]) in names or key_to_character(base) is not None


def keymap_problems(keymap: Mapping[str, str]) -> list[str]:
    from cockpit.commands import COMMANDS

    known = {c.id for c in COMMANDS}
    out = []
    for command_id, key in keymap.items():
        if command_id not in known:
            out.append(f"{command_id}: no such command (known: {', '.join(sorted(known))})")
            continue
        bad = [k for k in str(key).split(",") if not _key_ok(k.strip())]
        if not str(key).strip() or bad:
            out.append(f"{command_id}: {key!r} is not a key (examples: r, ctrl+r, f5, question_mark, shift+tab)")
    return out


def theme_problem(theme: str) -> str | None:
    from textual.theme import BUILTIN_THEMES

    if theme in BUILTIN_THEMES:
        return None
    return f"unknown theme {theme!r} (known: {', '.join(sorted(BUILTIN_THEMES))})"


def unclosed_variables(node: Any, loc: str = "") -> list[str]:
    """`${VAR` without its closing brace, anywhere in the raw config (before expansion)."""
    if isinstance(node, str):
        if not _UNCLOSED.search(node):
            return []
        return [f"{loc or '(top level)'}: '${{' is not closed by '}}' in {node[:60]!r}"]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in unclosed_variables(v, f"{loc} -> {k}" if loc else str(k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in unclosed_variables(v, f"{loc}[{i}]")]
    return []
