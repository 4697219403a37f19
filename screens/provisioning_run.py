"""Provisioning run screen: hosts x tasks, live, and the output of the failing (or selected) task.

Reads the hub's `provisioning` snapshots only; updates cells by key (a run is thousands of cells
at most, but every event must not redraw the whole table). Keys: arrows move, enter shows the
cell's output, f jumps to the first failure, escape goes back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cockpit.snapshot import Snapshot
from screens.render.provisioning import Grid, detail, first_line, grid, run_line

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

TASK_WIDTH = 3  # grid columns are task numbers; the task's name shows in the output pane


class ProvisioningRunScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "first_failure", "First failure"),
        Binding("enter", "show_cell", "Output", show=False),
    ]
    DEFAULT_CSS = """
    ProvisioningRunScreen #run { height: auto; padding: 0 1; }
    ProvisioningRunScreen #grid { height: 1fr; }
    ProvisioningRunScreen #output { height: 12; border-top: solid $accent; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, runtime: "Runtime", item: Any = None, *, collector: Any = None) -> None:
        super().__init__()
        if collector is None:
            source = runtime.provisioning()
            collector = runtime.hub.collectors[source.name]
        self.collector = collector
        self.focus_cell = (item.host, item.task_index) if item is not None and hasattr(item, "task_index") else None
        self.grid_data = Grid([], [], {})
        self._run_id: str | None = None
        self._columns: list[int] = []
        self._rows: list[str] = []
        self._pending: Snapshot | None = None
        self._unsubscribe = None
        self._unwatch = None
        self._user_moved = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="run")
            yield DataTable(id="grid", cursor_type="cell", zebra_stripes=True)
            yield Static(id="output")
        yield Footer()

    def on_mount(self) -> None:
        self._unsubscribe = self.collector.subscribe(self._on_snapshot)
        self._unwatch = self.collector.watch()
        self._apply(self.collector.snapshot)

    def on_unmount(self) -> None:
        for stop in (self._unsubscribe, self._unwatch):
            if stop is not None:
                stop()

    # -- snapshots ----------------------------------------------------------------------------
    def _on_snapshot(self, snapshot: Snapshot) -> None:
        # Coalesce: a burst of events costs one redraw per frame at most.
        first = self._pending is None
        self._pending = snapshot
        if first:
            self.call_after_refresh(self._drain)

    def _drain(self) -> None:
        snapshot, self._pending = self._pending, None
        if snapshot is not None:
            self._apply(snapshot)

    def _apply(self, snapshot: Snapshot) -> None:
        table = self.query_one("#grid", DataTable)
        run = snapshot.sections.get("run")
        self.query_one("#run", Static).update(run_line(run))
        run_id = getattr(run, "run_id", None)
        if run_id != self._run_id:  # another run: start the grid over
            table.clear(columns=True)
            table.add_column("HOST", key="host")
            self._columns, self._rows, self._run_id = [], [], run_id
        new = grid(snapshot.items, snapshot.sections)
        for task in new.tasks:
            if task["index"] not in self._columns:
                table.add_column(str(task["index"] + 1).rjust(TASK_WIDTH), key=f"t{task['index']}", width=TASK_WIDTH)
                self._columns.append(task["index"])
                for host in self._rows:  # fill the new column for the existing rows
                    table.update_cell(host, f"t{task['index']}", self._cell(new, host, task["index"]))
        for host in new.hosts:
            if host not in self._rows:
                table.add_row(Text(host), *(self._cell(new, host, i) for i in self._columns), key=host)
                self._rows.append(host)
        for (host, index), row in new.cells.items():
            if self.grid_data.cells.get((host, index)) != row and host in self._rows and index in self._columns:
                table.update_cell(host, f"t{index}", self._cell(new, host, index))
        self.grid_data = new
        if self.focus_cell and self.focus_cell in new.cells:
            self._move_to(*self.focus_cell)
            self.focus_cell = None
        elif not self._user_moved and new.failures():
            self.action_first_failure(user=False)
        self._show_output()

    @staticmethod
    def _cell(data: Grid, host: str, index: int) -> Text:
        symbol, style = data.symbol(host, index)
        return Text(symbol.center(TASK_WIDTH), style=style)

    # -- output pane --------------------------------------------------------------------------
    def _selected(self) -> tuple[str, int] | None:
        table = self.query_one("#grid", DataTable)
        if not self._rows or not self._columns:
            return None
        row, column = table.cursor_coordinate
        if column == 0 or row >= len(self._rows) or column - 1 >= len(self._columns):
            return None
        return self._rows[row], self._columns[column - 1]

    def _show_output(self) -> None:
        pane = self.query_one("#output", Static)
        where = self._selected()
        row = self.grid_data.cells.get(where) if where else None
        if row is None:
            failures = self.grid_data.failures()
            row = failures[0] if failures else None
        if row is None:
            names = ", ".join(f"{t['index'] + 1} {t['name']}" for t in self.grid_data.tasks[-3:])
            pane.update(f"tasks: {names}" if names else "")
            return
        pane.update(Text(detail(row)))

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._show_output()

    def on_key(self, event: Any) -> None:
        if event.key in ("up", "down", "left", "right", "home", "end", "pageup", "pagedown"):
            self._user_moved = True

    def _move_to(self, host: str, index: int) -> None:
        table = self.query_one("#grid", DataTable)
        if host in self._rows and index in self._columns:
            table.move_cursor(row=self._rows.index(host), column=self._columns.index(index) + 1)

    def action_first_failure(self, user: bool = True) -> None:
        failures = sorted(self.grid_data.failures(), key=lambda r: (r.task_index, r.host))
        if failures:
            self._move_to(failures[0].host, failures[0].task_index)
            self._user_moved = self._user_moved or user
        self._show_output()

    def action_show_cell(self) -> None:
        where = self._selected()
        row = self.grid_data.cells.get(where) if where else None
        if row is not None:
            self.notify(first_line(row.message) or row.status, title=f"{row.host} / {row.task}")
