"""The one command registry: every key binding, the help screen, the `:` command line and the
ctrl+p palette read from here, so a key is defined once and a keymap override applies everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from cockpit.sources import pane_labels


@dataclass(frozen=True)
class Command:
    id: str  # also the Textual binding id, the keymap key and the `:` command name
    key: str  # Textual key spec, comma-separated alternatives
    description: str
    action: str  # Textual action on the app ("quit", "focus_pane(2)", ...)
    show: bool = True  # shown in the footer
    group: str = "general"
    short: str = ""  # footer label; the description is for help

    @property
    def label(self) -> str:
        return self.short or self.description


COMMANDS: tuple[Command, ...] = (
    Command("help", "question_mark", "Help: every key", "help", group="general", short="help"),
    Command("command", "colon", "Command line (: actions, pane, refresh, quit)", "command_line", group="general", short="command"),
    Command("filter", "slash", "Filter the focused pane (regex, field=value, ! inverts)", "filter", group="general", short="filter"),
    Command("palette", "ctrl+p", "Command palette", "command_palette", show=False, group="general"),
    Command("quit", "q", "Quit", "quit", group="general", short="quit"),
    Command("detail", "enter", "Detail of the selected row", "detail", show=False, group="pane"),
    Command("back", "escape", "Back / clear filter", "back", show=False, group="general"),
    Command("refresh", "r", "Refresh the focused pane now", "refresh", group="pane", short="refresh"),
    Command("next_pane", "tab", "Next pane", "focus_next_pane", show=False, group="panes"),
    Command("prev_pane", "shift+tab", "Previous pane", "focus_previous_pane", show=False, group="panes"),
    # 1..9: one key per dashboard pane, in the source registry's order
    *(Command(f"pane_{pane_id}", str(number), f"{label} pane", f"focus_pane('{pane_id}')", show=False, group="panes")
      for number, (pane_id, label) in enumerate(pane_labels()[:9], start=1)),
    Command("actions", "a", "Actions for the selected row", "row_actions", group="pane", short="actions"),
    Command("sort", "o", "Sort by the cursor's column (again: reverse)", "sort", group="pane", short="sort"),
    Command("zoom", "z", "Zoom the focused pane to the full screen (again or esc: all panes)", "zoom", group="panes",
            short="zoom"),
)

# Words the `:` line understands besides action names (see screens.app.CockpitApp.run_command).
COMMAND_WORDS = ("quit", "help", "refresh", "pane", "filter", "plan", "provisioning", "zoom", "record")


def command_words() -> list[str]:
    return list(COMMAND_WORDS)


def by_id() -> dict[str, Command]:
    return {c.id: c for c in COMMANDS}


def effective_keys(keymap: Mapping[str, str] | None = None) -> dict[str, str]:
    """command id -> key after the config's keymap overrides."""
    keys = {c.id: c.key for c in COMMANDS}
    for command_id, key in (keymap or {}).items():
        if command_id in keys:
            keys[command_id] = key
    return keys


def unknown_keymap_entries(keymap: Mapping[str, str]) -> list[str]:
    known = by_id()
    return [k for k in keymap if k not in known]


def key_label(key: str) -> str:
    names = {"question_mark": "?", "colon": ":", "slash": "/", "escape": "esc", "enter": "enter"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


def help_rows(keymap: Mapping[str, str] | None = None) -> Iterable[tuple[str, str, str]]:
    keys = effective_keys(keymap)
    for c in COMMANDS:
        yield c.group, key_label(keys[c.id]), c.description
