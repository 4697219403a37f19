"""The dashboard: five panes (VMs and GPUs, SLURM queue, storage, Kubernetes pods, MLflow runs)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from cockpit.commands import COMMANDS
from cockpit.sources import panes
from screens.pane import SourcePane, SourceTable

# (pane id, title, tables: (source, snapshot section or None for its items)), from the source
# registry (each spec's pane and pane_sections); the order is the tab order and the 1..5 keys.
PANES: tuple[tuple[str, str, tuple[tuple[str, str | None], ...]], ...] = tuple(panes())

PANE_OF_SOURCE = {source: pane_id for pane_id, _, views in PANES for source, _ in views}
# Two columns; the first pane (VMs and GPUs) spans two rows: five panes fill a 2x3 grid.
GRID_ROWS = (len(PANES) + 2) // 2


class Dashboard(Screen[None]):
    # Pane cycling: bound here, since a Screen's own tab / shift+tab (focus the next widget) would
    # otherwise win over the app's and tab would stop at the GPU table inside the VMs pane. Same
    # ids as the app's bindings, so a keymap override applies here too.
    BINDINGS = [
        Binding(c.key, f"app.{c.action}", c.label, show=False, id=c.id)
        for c in COMMANDS if c.id in ("next_pane", "prev_pane")
    ]

    DEFAULT_CSS = f"""
    Dashboard #grid {{
        grid-size: 2 {GRID_ROWS};
        grid-columns: 1fr 1fr;
        grid-rows: {" ".join(["1fr"] * GRID_ROWS)};
        height: 1fr;
    }}
    Dashboard #pane-{PANES[0][0]} {{ row-span: 2; }}
    Dashboard #prompt {{ dock: bottom; display: none; height: 3; }}
    Dashboard #prompt.visible {{ display: block; }}
    Dashboard #message {{ dock: bottom; height: auto; max-height: 3; display: none; padding: 0 1; }}
    Dashboard #message.visible {{ display: block; }}
    Dashboard #message.error {{ color: $error; }}
    """

    def __init__(self, unconfigured: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.unconfigured = unconfigured

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Grid(id="grid"):
            for pane_id, title, views in PANES:
                yield SourcePane(pane_id, title, views, self.unconfigured)
        yield Static("", id="message")
        yield Input(id="prompt")
        yield Footer()

    # -- helpers used by the app ----------------------------------------------------------------
    def pane(self, pane_id: str) -> SourcePane:
        return self.query_one(f"#pane-{pane_id}", SourcePane)

    def panes(self) -> list[SourcePane]:
        return list(self.query(SourcePane))

    def focused_table(self) -> SourceTable | None:
        focused = self.focused
        return focused if isinstance(focused, SourceTable) else None

    def say(self, message: str, error: bool = False) -> None:
        widget = self.query_one("#message", Static)
        widget.update(message)
        widget.set_class(bool(message), "visible")
        widget.set_class(error, "error")

    def open_prompt(self, mode: str, value: str = "") -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.placeholder = {
            "filter": "filter: text or regex, field=value, field~regex, ! inverts; empty clears",
            "command": "command: quit | refresh [source] | pane NAME | help | filter TEXT | ACTION key=value ...",
        }[mode]
        prompt.border_title = "/" if mode == "filter" else ":"
        prompt.value = value
        prompt.add_class("visible")
        prompt.mode = mode  # type: ignore[attr-defined]
        prompt.focus()

    def close_prompt(self) -> Any:
        prompt = self.query_one("#prompt", Input)
        prompt.remove_class("visible")
        return prompt
