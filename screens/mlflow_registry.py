"""The model registry: registered models with their latest version and aliases (from the
snapshot), and every version of the selected model (loaded on demand).

Keys: enter/arrows pick a model, a set alias on the selected version, x remove an alias,
r reload, escape back. Changes go through the audited actions with their confirmation text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cockpit.snapshot import Snapshot, Status
from screens.mlflow_common import PromptScreen, mlflow_adapter, run_action
from screens.render.mlflow import model_rows

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


class RegistryScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "set_alias", "Set alias"),
        Binding("x", "remove_alias", "Remove alias"),
        Binding("r", "reload", "Reload versions"),
    ]
    DEFAULT_CSS = """
    RegistryScreen #registry-status { height: auto; padding: 0 1; background: $boost; }
    RegistryScreen #models { height: 40%; }
    """

    def __init__(self, runtime: "Runtime") -> None:
        super().__init__()
        self.runtime = runtime
        self.models: list[Any] = []
        self.versions: list[Any] = []
        self.selected: str | None = None
        self._unsubscribe: Any = None

    def compose(self) -> ComposeResult:
        yield Static("", id="registry-status")
        yield DataTable(id="models", cursor_type="row")
        yield Static("versions", id="versions-title")
        yield DataTable(id="versions", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        models = self.query_one("#models", DataTable)
        for title in ("MODEL", "LATEST", "STATUS", "ALIASES", "RUN"):
            models.add_column(title)
        versions = self.query_one("#versions", DataTable)
        for title in ("VERSION", "STATUS", "ALIASES", "RUN", "SOURCE", "CREATED"):
            versions.add_column(title)
        collector = self.runtime.hub.collectors.get("mlflow")
        if collector is not None:
            self._unsubscribe = collector.subscribe(lambda snap: self.call_later(self.show_snapshot, snap))
            self.show_snapshot(collector.snapshot)
        models.focus()

    def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()

    def show_snapshot(self, snap: Snapshot) -> None:
        status = self.query_one("#registry-status", Static)
        if snap.status is Status.UNCONFIGURED:
            status.update(f"MLflow unconfigured: {snap.hint}")
            return
        self.models = list(snap.sections.get("registered_models") or [])
        note = f"{len(self.models)} registered models"
        if snap.sections.get("registry_error"):
            note = f"[red]registry: {snap.sections['registry_error']}[/red]"
        if snap.status is Status.ERROR:
            note = f"[red]error: {snap.error}[/red]" + (" (stale)" if snap.stale else "")
        status.update(note)
        table = self.query_one("#models", DataTable)
        table.clear()
        for row in model_rows(self.models):
            table.add_row(*row, key=row[0])
        if not self.models:
            self.query_one("#versions-title", Static).update("no registered models yet: R on a run registers one")
        elif self.selected is None:
            self.select(self.models[0].name)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "models" and event.row_key is not None and event.row_key.value != self.selected:
            self.select(str(event.row_key.value))

    def select(self, name: str) -> None:
        self.selected = name
        self.load_versions()

    @work(exclusive=True, group="mlflow-versions")
    async def load_versions(self) -> None:
        title = self.query_one("#versions-title", Static)
        adapter = mlflow_adapter(self.runtime)
        if adapter is None or self.selected is None:
            return
        title.update(f"versions of {self.selected}: loading…")
        try:
            self.versions = await adapter.model_versions(self.selected)
        except Exception as exc:
            title.update(f"[red]{exc}[/red]")
            return
        title.update(f"versions of {self.selected}")
        table = self.query_one("#versions", DataTable)
        table.clear()
        for v in self.versions:
            table.add_row(v.version, v.status or "-", " ".join(f"@{a}" for a in v.aliases) or "-",
                          (v.run_id or "-")[:8], v.source or "-", (v.created or "-")[:19].replace("T", " "),
                          key=v.version)

    def current_version(self) -> Any | None:
        table = self.query_one("#versions", DataTable)
        if not self.versions or not 0 <= table.cursor_row < len(self.versions):
            return None
        return self.versions[table.cursor_row]

    @work(group="mlflow-action")
    async def action_set_alias(self) -> None:
        version = self.current_version()
        if self.selected is None or version is None:
            self.notify("pick a model and a version first")
            return
        alias = await self.app.push_screen_wait(PromptScreen(f"Alias for {self.selected} v{version.version}:",
                                                             "champion"))
        if alias:
            result = await run_action(self, self.runtime, "mlflow.set_alias",
                                      {"model_name": self.selected, "alias": alias, "version": version.version})
            if result is not None and result.ok:
                self.load_versions()

    @work(group="mlflow-action")
    async def action_remove_alias(self) -> None:
        version = self.current_version()
        if self.selected is None or version is None or not version.aliases:
            self.notify("the selected version has no alias")
            return
        alias = version.aliases[0]
        if len(version.aliases) > 1:
            alias = await self.app.push_screen_wait(
                PromptScreen(f"Remove which alias ({', '.join(version.aliases)})?", version.aliases[0]))
        if alias:
            result = await run_action(self, self.runtime, "mlflow.delete_alias",
                                      {"model_name": self.selected, "alias": alias})
            if result is not None and result.ok:
                self.load_versions()

    def action_reload(self) -> None:
        self.load_versions()
