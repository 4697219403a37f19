"""One pod: describe (status, containers, conditions, events) and its logs.

Opened with `(runtime, item)` from the pods pane (DETAIL_SCREEN). Both are reads through the query
seam (runtime.query.describe_pod / pod_logs), never the adapter, and not audited. Keys: c next
container, f follow on/off, t tail lines (100 / 1000 / all), r reload, escape back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from screens.render.kubernetes import wait_lines


if TYPE_CHECKING:
    from cockpit.runtime import Runtime

TAILS = (100, 1000, None)


def describe_renderable(d: dict[str, Any]) -> Any:
    pod = d["pod"]
    table = Table.grid(padding=(0, 2))
    table.add_row(Text(f"{pod['namespace']}/{pod['name']}", style="bold"),
                  f"{pod['phase']} ({pod['reason']})", f"node {pod['node'] or '-'}",
                  f"ready {pod['ready']}", f"restarts {pod['restarts']}", f"gpus {pod['gpus']}")
    out = Table.grid()
    out.add_row(table)
    if pod.get("message"):
        out.add_row(Text(pod["message"], style="yellow"))
    for line in wait_lines(pod["reason"], pod.get("message") or "", pod.get("admission")):
        out.add_row(Text(line, style="yellow"))
    containers = Table("CONTAINER", "IMAGE", "READY", "RESTARTS", "STATE", box=None, header_style="bold dim")
    for c in d["containers"]:
        state = ", ".join(f"{k} {v.get('reason', '')}".strip() for k, v in (c["state"] or {}).items()) or "-"
        containers.add_row(c["name"], c["image"] or "-", str(c["ready"]), str(c["restarts"]), state)
    out.add_row(containers)
    events = Table("TYPE", "REASON", "COUNT", "MESSAGE", box=None, header_style="bold dim")
    for e in d["events"]:
        events.add_row(Text(e["type"] or "", style="red" if e["type"] == "Warning" else ""), e["reason"] or "",
                       str(e["count"]), e["message"] or "")
    if not d["events"]:
        events.add_row("", "", "", Text("no events", style="dim"))
    out.add_row(events)
    return out


class PodScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "next_container", "Container"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("t", "cycle_tail", "Tail"),
        Binding("r", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    PodScreen #pod-describe { height: auto; max-height: 50%; padding: 0 1; }
    PodScreen #pod-log-head { background: $boost; padding: 0 1; }
    """

    def __init__(self, runtime: "Runtime", item: Any) -> None:
        super().__init__()
        self.runtime, self.item = runtime, item
        self.containers = list(item.containers) or [None]
        self.container_index = 0
        self.follow = False
        self.tail_index = 0
        self.described: dict[str, Any] | None = None
        self.error: str | None = None

    @property
    def container(self) -> str | None:
        return self.containers[self.container_index]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("describing…", style="dim"), id="pod-describe")
            yield Static(self.log_head(), id="pod-log-head")
            yield RichLog(id="pod-log", max_lines=5000, wrap=False, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.describe()
        self.logs()

    def log_head(self) -> str:
        tail = TAILS[self.tail_index]
        return (f"logs: container {self.container or '-'} ({self.container_index + 1}/{len(self.containers)})  "
                f"tail {tail if tail is not None else 'all'}  follow {'on' if self.follow else 'off'}")

    @work(exclusive=True, group="kube-describe")
    async def describe(self) -> None:
        widget = self.query_one("#pod-describe", Static)
        try:
            self.described = await self.runtime.query.describe_pod(self.item.namespace, self.item.name)
        except Exception as exc:  # the screen must survive a broken or unreachable apiserver
            self.error = str(exc) or type(exc).__name__
            widget.update(Text(f"cannot describe: {self.error}", style="red"))
            return
        widget.update(describe_renderable(self.described))

    @work(exclusive=True, group="kube-logs")
    async def logs(self) -> None:
        log = self.query_one("#pod-log", RichLog)
        log.clear()
        self.query_one("#pod-log-head", Static).update(self.log_head())
        try:
            # Following ends when the screen closes or the key toggles it (this worker is replaced).
            async for line in self.runtime.query.pod_logs(self.item.namespace, self.item.name, self.container,
                                                          TAILS[self.tail_index], self.follow):
                log.write(line)
        except Exception as exc:  # the screen must survive a broken or unreachable apiserver
            log.write(Text(f"cannot read logs: {str(exc) or type(exc).__name__}", style="red"))

    def action_next_container(self) -> None:
        self.container_index = (self.container_index + 1) % len(self.containers)
        self.logs()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.logs()

    def action_cycle_tail(self) -> None:
        self.tail_index = (self.tail_index + 1) % len(TAILS)
        self.logs()

    def action_reload(self) -> None:
        self.describe()
        self.logs()
