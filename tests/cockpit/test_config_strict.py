"""Configs the cockpit used to accept silently: unknown keymap commands or impossible keys,
unknown themes, unterminated `${VAR`, duplicate top-level keys."""

from __future__ import annotations

import pytest

from cockpit.config import parse_config
from cockpit.errors import ConfigError


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml", env={})
    return info.value.problems


def test_keymap_entry_naming_no_command():
    [line] = problems("cockpit:\n  keymap: {reload_all: r}\n")
    assert line.startswith("cockpit -> keymap") and "reload_all: no such command" in line


@pytest.mark.parametrize("key", ["", "hyperjump+x", "ctrl+", "two words"])
def test_keymap_entry_with_an_impossible_key(key):
    [line] = problems(f"cockpit:\n  keymap: {{refresh: '{key}'}}\n")
    assert "refresh:" in line and "is not a key" in line


def test_good_keymap_and_theme_pass():
    loaded = parse_config("cockpit:\n  keymap: {refresh: f5, quit: 'ctrl+q', help: question_mark}\n  theme: nord\n",
                          "c.yaml", env={})
    assert loaded.config.cockpit.keymap["refresh"] == "f5" and loaded.config.cockpit.theme == "nord"


def test_unknown_theme():
    [line] = problems("cockpit:\n  theme: neon-pink\n")
    assert line.startswith("cockpit -> theme") and "unknown theme 'neon-pink'" in line and "nord" in line


def test_unterminated_variable_names_the_path():
    [line] = problems("cockpit:\n  mlflow: {tracking_uri: '${MLFLOW_URI'}\n")
    assert line.startswith("cockpit -> mlflow -> tracking_uri") and "not closed" in line


def test_escaped_and_nested_variables_are_fine():
    loaded = parse_config("cockpit:\n  audit_log: '$${literal}/${NOPE:-${HOME_X:-/tmp}}/a.jsonl'\n", "c.yaml", env={})
    assert loaded.config.cockpit.audit_log == "${literal}//tmp/a.jsonl"


def test_duplicate_top_level_keys():
    [line] = problems("cockpit: {read_only: true}\nclusters: {}\ncockpit: {read_only: false}\n")
    assert "duplicate key 'cockpit'" in line and "line 3" in line and "line 1" in line
