"""The dashboard: five panes (VMs and GPUs, SLURM queue, storage, Kubernetes pods, MLflow runs),
laid out for the terminal it is in.

- Wide (at least 120x40): a grid of the panes; an unconfigured pane collapses to its one-line
  hint at the top and gives its space to the others.
- Narrow (below 120 columns or 40 rows): one pane at a time, with a pane bar (1..5, tab).
- Zoom (`z`): the focused pane alone, at any size; `z` again goes back.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from cockpit.commands import COMMANDS
from cockpit.sources import panes
from screens.footer import Footer
from screens.messages import MessageArea
from screens.pane import SourcePane, SourceTable

# (pane id, title, tables: (source, snapshot section or None for its items)), from the source
# registry (each spec's pane and pane_sections); the order is the tab order and the 1..5 keys.
PANES: tuple[tuple[str, str, tuple[tuple[str, str | None], ...]], ...] = tuple(panes())
# Pane bar names; a pane not listed shows the first word of its title.
SHORT_TITLES = {"vms": "VMs", "slurm": "SLURM", "storage": "Storage", "kubernetes": "Kubernetes", "mlflow": "MLflow"}
for _pane_id, _title, _views in PANES:
    SHORT_TITLES.setdefault(_pane_id, _title.split()[0])

PANE_OF_SOURCE = {source: pane_id for pane_id, _, views in PANES for source, _ in views}

# Below either, one pane at a time: two columns of tables at 100 columns cut every table's
# columns, and three rows of panes at 30 lines leave a pane no room for a single row.
BREAK_COLUMNS, BREAK_ROWS = 120, 40


def layout_mode(width: int, height: int, zoomed: bool) -> str:
    if zoomed:
        return "zoom"
    return "single" if width < BREAK_COLUMNS or height < BREAK_ROWS else "grid"


def grid_plan(collapsed: int, open_: int) -> tuple[list[str], bool]:
    """Rows of the wide grid (two columns): one auto-height row per two collapsed panes, then
    1fr rows for the open panes; with an odd number (3 or 5) of open panes the first spans two
    rows. Returns (row heights, whether the first open pane spans two rows)."""
    rows = ["auto"] * ((collapsed + 1) // 2)
    span_first = open_ >= 3 and open_ % 2 == 1
    rows += ["1fr"] * ((open_ + 1) // 2 if open_ > 1 else open_)
    return rows, span_first


class Dashboard(Screen[None]):
    # Textual's Screen binds tab/shift+tab to widget focus, ahead of the app's bindings: the pane
    # keys from the command registry are bound here too (same ids, so a keymap override applies).
    BINDINGS = [Binding(c.key, f"app.{c.action}", show=False, id=c.id)
                for c in COMMANDS if c.id in ("next_pane", "prev_pane")]
    DEFAULT_CSS = """
    Dashboard #grid { grid-size: 2; grid-columns: 1fr 1fr; height: 1fr; }
    Dashboard #pane-bar { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; background: $boost; display: none; }
    Dashboard #prompt { display: none; height: 3; }
    Dashboard #prompt.visible { display: block; }
    """

    def __init__(self, unconfigured: frozenset[str] | None = frozenset()) -> None:
        """`unconfigured`: the sources with nothing to talk to; None while not yet known (the
        first frame is drawn before the config is read: set_unconfigured follows)."""
        super().__init__()
        self.unconfigured = unconfigured
        self.zoomed = False
        self.current = PANES[0][0]
        self.mode = "grid"

    def collapsed_ids(self) -> list[str]:
        """Panes whose every source is unconfigured: they show only their one-line hints."""
        unconfigured = self.unconfigured or frozenset()
        return [pane_id for pane_id, _, views in PANES if all(s in unconfigured for s, _ in views)]

    def set_unconfigured(self, unconfigured: frozenset[str]) -> None:
        """The sources found unconfigured once the config is read: their tables go, and a pane
        with nothing configured collapses to its hint line (first in the grid, as compose does)."""
        self.unconfigured = unconfigured
        if not self.is_mounted:
            return
        collapsed = set(self.collapsed_ids())
        grid = self.query_one("#grid", Grid)
        panes = self.panes()
        for pane in panes:
            pane.set_unconfigured(unconfigured)
            pane.set_class(pane.pane_id in collapsed, "collapsed")
        for pane in reversed([p for p in panes if p.pane_id in collapsed]):
            children = list(grid.children)
            if children and children[0] is not pane:
                grid.move_child(pane, before=children[0])
        self.arrange_panes()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="pane-bar")
        collapsed = set(self.collapsed_ids())
        # Collapsed panes first: the grid places its children in order, and their rows are short.
        ordered = [p for p in PANES if p[0] in collapsed] + [p for p in PANES if p[0] not in collapsed]
        with Grid(id="grid"):
            for pane_id, title, views in ordered:
                pane = SourcePane(pane_id, title, views, self.unconfigured or ())
                pane.set_class(pane_id in collapsed, "collapsed")
                yield pane
        yield MessageArea(id="message")
        yield Input(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        # Before the first layout (is_mounted is not yet set here): the first frame drawn is
        # already arranged, and the resize that follows finds nothing to change.
        self.arrange_panes(mounting=True)

    def on_resize(self, event: Any) -> None:
        self.arrange_panes()

    # -- layout ---------------------------------------------------------------------------------
    def arrange_panes(self, mounting: bool = False) -> None:
        """Lay the panes out for the current size, zoom and focus."""
        if not (self.is_mounted or mounting):
            return
        width, height = self.app.size
        self.mode = layout_mode(width, height, self.zoomed)
        grid = self.query_one("#grid", Grid)
        panes = self.panes()
        # The same arrangement as last time (a resize within the same layout mode): nothing to
        # set, and setting the same styles again would lay the whole screen out once more.
        arrangement = (self.mode, tuple((p.pane_id, p.has_class("collapsed")) for p in panes),
                       self.current if self.mode != "grid" else None)
        if arrangement == getattr(self, "_arranged", None):
            return
        self._arranged = arrangement
        bar = self.query_one("#pane-bar", Static)
        if self.mode == "grid":
            collapsed = [p for p in panes if p.has_class("collapsed")]
            open_panes = [p for p in panes if not p.has_class("collapsed")]
            rows, span_first = grid_plan(len(collapsed), len(open_panes))
            grid.styles.grid_size_columns = 2
            grid.styles.grid_size_rows = len(rows) or 1
            grid.styles.grid_rows = " ".join(rows) or "1fr"
            for index, pane in enumerate(collapsed):
                pane.display = True
                last_alone = index == len(collapsed) - 1 and len(collapsed) % 2 == 1
                pane.styles.column_span = 2 if last_alone else 1
                pane.styles.row_span = 1
            for index, pane in enumerate(open_panes):
                pane.display = True
                pane.styles.column_span = 2 if len(open_panes) == 1 else 1
                pane.styles.row_span = 2 if (index == 0 and span_first) else 1
            bar.display = False
        else:
            grid.styles.grid_size_columns = 1
            grid.styles.grid_size_rows = 1
            grid.styles.grid_rows = "1fr"
            for pane in panes:
                pane.display = pane.pane_id == self.current
                pane.styles.column_span = 1
                pane.styles.row_span = 1
            bar.display = True
            bar.update(self.pane_bar_text())
        self.refresh_bindings()

    def pane_bar_text(self) -> Text:
        text = Text()
        collapsed = set(self.collapsed_ids())
        for number, (pane_id, _title, _views) in enumerate(PANES, start=1):
            label = f" {number} {SHORT_TITLES[pane_id]} "
            if pane_id == self.current:
                style = "bold reverse"
            elif pane_id in collapsed:
                style = "dim"
            else:
                style = ""
            text.append(label, style)
            text.append(" ")
        tail = "z: all panes" if self.mode == "zoom" else "tab: next  z: zoom"
        text.append(f" {tail}", "dim")
        return text

    def show_pane(self, pane_id: str) -> None:
        """Make a pane current (in one-pane layouts, the one shown)."""
        if pane_id == self.current:
            return
        self.current = pane_id
        if self.mode != "grid":
            self.arrange_panes()

    def toggle_zoom(self) -> bool:
        self.zoomed = not self.zoomed
        self.arrange_panes()
        return self.zoomed

    def on_descendant_focus(self, event: Any) -> None:
        for node in event.widget.ancestors_with_self:
            if isinstance(node, SourcePane):
                if node.pane_id != self.current:
                    self.current = node.pane_id
                    if self.mode != "grid":
                        self.query_one("#pane-bar", Static).update(self.pane_bar_text())
                return

    # -- helpers used by the app ----------------------------------------------------------------
    def pane(self, pane_id: str) -> SourcePane:
        return self.query_one(f"#pane-{pane_id}", SourcePane)

    def panes(self) -> list[SourcePane]:
        return list(self.query(SourcePane))

    def focused_table(self) -> SourceTable | None:
        focused = self.focused
        return focused if isinstance(focused, SourceTable) else None

    def current_pane(self) -> SourcePane:
        return self.pane(self.current)

    @property
    def messages(self) -> MessageArea:
        return self.query_one("#message", MessageArea)

    def say(self, message: str, error: bool = False, kind: str | None = None) -> None:
        self.messages.say(message, kind or ("error" if error else "info"))

    def open_prompt(self, mode: str, value: str = "") -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.placeholder = {
            "filter": "filter: text, field:value (a,b), field~regex, field>N, ! negates; empty clears",
            "command": "command: quit | refresh [source] | pane NAME | help | filter TEXT | ACTION key=value ...",
        }[mode]
        prompt.border_title = "/" if mode == "filter" else ":"
        prompt.value = value
        prompt.add_class("visible")
        # Shown and focused at once, not on the next refresh (a class change restyles later, and
        # Widget.focus waits for idle): keys typed right after `:` in the same burst (a paste, a
        # fast typist, one SSH packet) must land in the prompt, not in the table, where `s`
        # would have started a VM action.
        prompt.display = True
        prompt.mode = mode  # type: ignore[attr-defined]
        self.set_focus(prompt)

    def close_prompt(self) -> Any:
        prompt = self.query_one("#prompt", Input)
        prompt.remove_class("visible")
        prompt.display = False
        return prompt
