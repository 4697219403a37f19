"""YAML text to data, with errors that say where (config files and plans share this)."""

from __future__ import annotations

from typing import Any

import yaml

from cockpit.errors import ConfigError


def load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [f"{where}YAML syntax error: {problem}"]) from None
    except (ValueError, TypeError, RecursionError) as exc:  # odd YAML (huge ints, deep nesting)
        raise ConfigError(source, [f"(top level): cannot read YAML: {exc}"]) from None
