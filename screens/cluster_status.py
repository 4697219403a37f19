"""The clusters status screen (`:status`, or ctrl+p "status"): one line per cluster of the config
(VMs, scheduler, storage, GPUs), as `cockpit status` prints it, live from the hub's snapshots.
The decisions are cockpit/cluster_status.py's; this only draws them. Starting and stopping every
cluster are the `clusters.up` / `clusters.down` actions (`:clusters.up`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from cockpit import cluster_status as cs

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

LEVEL_STYLES = {"ok": "green", "n/a": "dim", "degraded": "yellow", "unknown": "magenta", "down": "bold red"}


def status_table(rows: list[cs.ClusterStatus]) -> Table:
    table = Table(show_edge=False, box=None, pad_edge=False, expand=True)
    for title in ("CLUSTER", "KIND", "STATUS", "VMS", "SCHEDULER", "STORAGE", "GPUS"):
        table.add_column(title, overflow="fold")

    def cell(part: cs.Part) -> Text:
        return Text(part.text, style=LEVEL_STYLES.get(part.level, ""))

    for s in rows:
        table.add_row(s.name, s.kind, Text(s.level, style=LEVEL_STYLES.get(s.level, "")),
                      cell(s.vms), cell(s.scheduler), cell(s.storage), cell(s.gpus))
    return table


class ClusterStatusScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "back")]
    DEFAULT_CSS = """
    ClusterStatusScreen #verdict { height: auto; padding: 1 0 0 0; }
    """

    def __init__(self, runtime: "Runtime") -> None:
        super().__init__()
        self.runtime = runtime
        self._stop: list[Callable[[], None]] = []
        self.table: Table | None = None  # what #clusters shows

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Clusters", id="title")
            yield Static(id="clusters")
            yield Static(id="verdict")
        yield Footer()

    def on_mount(self) -> None:
        config = self.runtime.config
        hub = self.runtime.hub
        for name in cs.sources_for(config):
            collector = hub.collectors.get(name)
            if collector is not None:
                self._stop.append(collector.subscribe(lambda _snap: self.show()))
                self._stop.append(collector.watch())
        self.show()

    def on_unmount(self) -> None:
        for stop in self._stop:
            stop()
        self._stop.clear()

    def show(self, *_: Any) -> None:
        config = self.runtime.config
        if config.clusters.hpc is None and config.clusters.cloud is None:
            self.query_one("#clusters", Static).update("the config has no clusters: section "
                                                       "(clusters -> hpc / clusters -> cloud)")
            return
        rows = cs.statuses(config, self.runtime.hub.snapshots())
        self.table = status_table(rows)
        self.query_one("#clusters", Static).update(self.table)
        verdict = "every cluster healthy" if cs.all_healthy(rows) else "not healthy: " + ", ".join(
            f"{s.name} {s.level}" for s in rows if not s.healthy)
        self.query_one("#verdict", Static).update(
            f"{verdict}    start / stop all, in order: :clusters.up   :clusters.down")
