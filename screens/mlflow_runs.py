"""The MLflow runs screen: the newest runs from the snapshot with the chosen metric columns,
a filter, server-side paging for stores with thousands of runs, and the way into run detail,
comparison and the model registry.

Keys: / filter, escape clear, n next page from the server, enter detail, space mark for compare,
c compare, m model registry, R register model, ctrl+d delete run; a click on a column header sorts
by its value (again: reversed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from cockpit.mlflow_runs import FilterError, RunFilter, experiment_ids, filter_runs, parse_filter, search_filter
from cockpit.snapshot import Snapshot, Status
from screens.mlflow_common import chosen_metrics, mlflow_adapter, run_action
from screens.render import sort_items
from screens.render.mlflow import ROW_STYLE, columns

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

PAGE = 100


class RunsScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "clear_or_back", "Clear/back"),
        Binding("n", "next_page", "Next page"),
        Binding("enter", "open", "Detail", show=False),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("m", "registry", "Registry"),
        Binding("R", "register", "Register model"),
        Binding("ctrl+d", "delete", "Delete run"),
    ]
    DEFAULT_CSS = """
    RunsScreen #runs-status { height: 1; padding: 0 1; background: $boost; }
    RunsScreen #runs-filter { display: none; }
    RunsScreen #runs-filter.visible { display: block; }
    """

    def __init__(self, runtime: "Runtime") -> None:
        super().__init__()
        self.runtime = runtime
        self.metric_names = tuple(chosen_metrics(runtime))
        self.cols = columns(self.metric_names)
        self.filter: RunFilter = RunFilter()
        self.filter_text = ""
        self.rows: dict[str, Any] = {}  # run_id -> item, in display order
        self.marked: list[str] = []
        self.sort: tuple[int, bool] | None = None  # (column index, descending), picked by clicking a header
        # Server-side listing (after `n`): the runs loaded so far and the token for more.
        self.server_runs: list[Any] | None = None
        self.next_token: str | None = None
        self._unsubscribe: Any = None
        self._unwatch: Any = None

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-status")
        yield Input(placeholder="exp:NAME exp~REGEX status:FAILED,KILLED metric.loss<0.1 tag.slurm_job_id:42 "
                                "duration>1h !name~^tmp text", id="runs-filter")
        table: DataTable[str] = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    # -- snapshot plumbing ---------------------------------------------------------------------------
    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for index, col in enumerate(self.cols):
            table.add_column(col.title, key=f"c{index}")
        collector = self.runtime.hub.collectors.get("mlflow")
        if collector is not None:
            self._unsubscribe = collector.subscribe(lambda snap: self.call_later(self.show_snapshot, snap))
            self._unwatch = collector.watch()
            self.show_snapshot(collector.snapshot)
        else:
            self.set_status("MLflow is not part of this cockpit")
        table.focus()

    def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self._unwatch:
            self._unwatch()

    @property
    def snapshot(self) -> Snapshot | None:
        collector = self.runtime.hub.collectors.get("mlflow")
        return collector.snapshot if collector is not None else None

    def set_status(self, text: str) -> None:
        self.query_one("#runs-status", Static).update(text)

    def show_snapshot(self, snap: Snapshot) -> None:
        if self.server_runs is not None:  # paging through the server: the live view waits
            return
        if snap.status is Status.UNCONFIGURED:
            self.set_status(f"MLflow unconfigured: {snap.hint}")
            self.fill([])
            return
        items = self.ordered(filter_runs(snap.items.values(), self.filter))
        parts = [f"{len(items)} of {len(snap.items)} runs"]
        if self.sort is not None:
            parts.append(self.sort_label())
        if snap.sections.get("runs_truncated"):
            parts.append("newest only: n pages the server")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        if self.marked:
            parts.append(f"marked {len(self.marked)}")
        if snap.status is Status.ERROR:
            parts.insert(0, f"[red]error: {snap.error}[/red]" + (" (stale data)" if snap.stale else ""))
        elif snap.fetched_at is None:
            parts.insert(0, "loading…")
        if missing := snap.sections.get("missing_experiments"):
            parts.append(f"[yellow]no experiment named {', '.join(missing)}[/yellow]")
        self.set_status("  ·  ".join(parts))
        self.fill(items)

    def fill(self, items: list[Any]) -> None:
        """Update by key: touch only changed cells; refill when the order or the set changed."""
        table = self.query_one(DataTable)
        new = {i.run_id: i for i in items}
        if list(new) != list(self.rows):
            cursor_key = self.current_key()
            table.clear()
            for run_id, item in new.items():
                table.add_row(*self.cells(item, run_id), key=run_id)
            if cursor_key in new:
                table.move_cursor(row=list(new).index(cursor_key))
        else:
            for run_id, item in new.items():
                if item != self.rows[run_id]:
                    for index, cell in enumerate(self.cells(item, run_id)):
                        table.update_cell(run_id, f"c{index}", cell)
        self.rows = new

    def cells(self, item: Any, run_id: str) -> list[Any]:
        out = [col.cell(item) for col in self.cols]
        if run_id in self.marked:
            out[0] = "*" + out[0]
        style = ROW_STYLE.style(item)  # run status colours, as on the dashboard
        return [Text(cell, style=style) for cell in out] if style else out

    # -- sorting -------------------------------------------------------------------------------------
    def ordered(self, items: list[Any]) -> list[Any]:
        """Runs sorted by the picked column's value (metrics as numbers, durations in seconds)."""
        if self.sort is None:
            return list(items)
        index, descending = self.sort
        return sort_items(self.cols[index], list(items), descending)

    def sort_label(self) -> str:
        index, descending = self.sort or (0, False)
        return f"sorted by {self.cols[index].title} {'▼' if descending else '▲'}"

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column; again reverses."""
        index = event.column_index
        descending = bool(self.sort and self.sort[0] == index and not self.sort[1])
        self.sort = (index, descending)
        if self.server_runs is not None:
            self.fill(self.ordered(self.server_runs))
            self.notify(self.sort_label())
        elif self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def current_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return list(self.rows)[table.cursor_row]

    def current(self) -> Any | None:
        key = self.current_key()
        return self.rows.get(key) if key else None

    # -- filter and paging ---------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.add_class("visible")
        box.value = self.filter_text
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = parse_filter(event.value)
        except FilterError as exc:
            self.notify(str(exc), severity="error")
            return
        self.filter_text = event.value.strip()
        event.input.remove_class("visible")
        self.server_runs, self.next_token = None, None
        self.query_one(DataTable).focus()
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def action_clear_or_back(self) -> None:
        box = self.query_one("#runs-filter", Input)
        if box.has_class("visible"):
            box.remove_class("visible")
            self.query_one(DataTable).focus()
        elif self.filter_text or self.server_runs is not None:
            self.filter, self.filter_text = RunFilter(), ""
            self.server_runs, self.next_token = None, None
            if self.snapshot is not None:
                self.show_snapshot(self.snapshot)
        else:
            self.app.pop_screen()

    @work(exclusive=True, group="mlflow-page")
    async def action_next_page(self) -> None:
        adapter = mlflow_adapter(self.runtime)
        if adapter is None:
            self.notify("MLflow is not configured", severity="error")
            return
        if self.server_runs is not None and self.next_token is None:
            self.notify("no more runs")
            return
        snap = self.snapshot
        try:
            ids = experiment_ids(self.filter, snap.sections.get("experiments", ()) if snap else ())
        except FilterError as exc:
            self.notify(str(exc), severity="error")
            return
        self.set_status("loading a page from the server…")
        try:
            page = await adapter.runs_page(experiment_ids=ids, filter_string=search_filter(self.filter),
                                           page_token=self.next_token, page_size=PAGE)
        except Exception as exc:  # server down: say so, keep what is shown
            self.set_status(f"[red]{exc}[/red]")
            return
        self.server_runs = [*(self.server_runs or []), *filter_runs(page.runs, self.filter)]
        self.next_token = page.next_page_token
        more = "n for more" if self.next_token else "all loaded"
        self.set_status(f"{len(self.server_runs)} runs from the server  ·  {more}  ·  escape: back to live view")
        self.fill(self.ordered(self.server_runs))

    # -- navigation and actions ----------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        item = self.current()
        if item is not None:
            from screens.mlflow_run import RunScreen

            self.app.push_screen(RunScreen(self.runtime, item))

    def action_mark(self) -> None:
        key = self.current_key()
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked = [*self.marked[-1:], key]  # the two latest marks are compared
        table = self.query_one(DataTable)
        for run_id in self.rows:
            table.update_cell(run_id, "c0", self.cells(self.rows[run_id], run_id)[0])

    def action_compare(self) -> None:
        keys = [k for k in self.marked if k in self.rows]
        current = self.current_key()
        if len(keys) < 2 and current and current not in keys:
            keys.append(current)
        if len(keys) < 2:
            self.notify("mark two runs with space (or one, then select another) to compare")
            return
        from screens.mlflow_compare import CompareScreen

        self.app.push_screen(CompareScreen(self.runtime, self.rows[keys[-2]], self.rows[keys[-1]]))

    def action_registry(self) -> None:
        from screens.mlflow_registry import RegistryScreen

        self.app.push_screen(RegistryScreen(self.runtime))

    @work(group="mlflow-action")
    async def action_delete(self) -> None:
        item = self.current()
        if item is not None:
            await run_action(self, self.runtime, "mlflow.delete_run", {"run_id": item.run_id})

    @work(group="mlflow-action")
    async def action_register(self) -> None:
        item = self.current()
        if item is None:
            return
        from screens.mlflow_common import PromptScreen

        answer = await self.app.push_screen_wait(
            PromptScreen(f"Register a model from run {item.run_id[:8]}: MODEL_NAME [ARTIFACT_PATH]", "my-model model"))
        if not answer:
            return
        name, _, path = answer.partition(" ")
        await run_action(self, self.runtime, "mlflow.register_model",
                         {"run_id": item.run_id, "model_name": name, "artifact_path": path.strip() or "model"})
