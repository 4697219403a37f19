"""Storage detail screen: verdict and reasons, nodes, targets with capacity bars, client mounts and
services, the last probe and the probe history; `p` runs the throughput probe (after confirming).

Reads snapshots and invokes actions by name only (no backend calls), as every screen does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from screens.render import storage as render

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

SOURCE = "storage"
PROBE_ACTION = "storage.probe"


def history_table(history: list[dict[str, Any]]) -> Table:
    table = Table(title="Probe history (newest first)", title_justify="left", show_edge=False, box=None, pad_edge=False)
    for col in ("FINISHED", "NODES", "SIZE", "WRITE MB/s", "READ MB/s", "CREATE/s", "TARGET"):
        table.add_column(col)
    for h in reversed(history):
        ok = h.get("write_mb_s") is not None
        table.add_row(str(h.get("finished_at", ""))[:19].replace("T", " "),
                      ", ".join(str(n.get("node")) for n in h.get("nodes", [])) or "-",
                      f"{h.get('size_mb')} MiB",
                      f"{h['write_mb_s']:.0f}" if ok else "failed",
                      f"{h['read_mb_s']:.0f}" if ok else "-",
                      f"{h.get('create_ops_s') or 0:.0f}" if ok else "-",
                      ("met" if h.get("meets_target") else "below") if ok else "-")
    return table


class StorageScreen(Screen[None]):
    """DETAIL_SCREEN of the storage pane; takes (runtime, item) like every detail screen."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("r", "refresh", "refresh"),
        Binding("p", "probe", "probe throughput"),
    ]
    DEFAULT_CSS = """
    StorageScreen #status { height: auto; color: $text-muted; }
    """

    def __init__(self, runtime: "Runtime", item: Any = None, *, history_loader: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.item = item
        self._history_loader = history_loader
        self._unsubscribe: Callable[[], None] | None = None
        self._unwatch: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="overview")
            yield Static(id="history")
        yield Static("", id="status")
        yield Footer()

    @property
    def collector(self) -> Any:
        return self.runtime.hub.collectors.get(SOURCE)

    def on_mount(self) -> None:
        collector = self.collector
        if collector is not None:
            self._unsubscribe = collector.subscribe(lambda snap: self.show(snap))
            self._unwatch = collector.watch()
            self.show(collector.snapshot)
        else:
            self.query_one("#overview", Static).update("storage source is not part of this cockpit")
        self.show_history()

    def on_unmount(self) -> None:
        for stop in (self._unsubscribe, self._unwatch):
            if stop is not None:
                stop()

    def show(self, snapshot: Any) -> None:
        if snapshot.status.value == "unconfigured":
            self.query_one("#overview", Static).update(f"storage is not configured: {snapshot.hint}")
            return
        self.query_one("#overview", Static).update(render.overview(snapshot))

    def show_history(self) -> None:
        if self._history_loader is not None:
            history = self._history_loader()
        else:
            history = self.runtime.query.probe_history(20)
        self.query_one("#history", Static).update(history_table(history) if history else "")

    def action_refresh(self) -> None:
        if self.collector is not None:
            self.collector.refresh()

    def set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def action_probe(self) -> None:
        """Through the one interaction seam: confirm, invoke, outcome here and in the message area."""
        from screens.interaction import start

        self.set_status("probe: waiting for confirmation ...")

        def finished(result: Any) -> None:
            if result is not None and result.ok:
                r = result.result
                self.set_status(f"probe done: write {r['write_mb_s']:.0f} MB/s, read {r['read_mb_s']:.0f} MB/s")
                self.show_history()

        start(self, PROBE_ACTION, {}, done=finished, echo=lambda text, _kind: self.set_status(text))
