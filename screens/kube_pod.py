"""One pod: describe (status, containers, conditions, events) and its logs.

Opened with `(runtime, item)` from the pods pane (DETAIL_SCREEN). Everything goes through actions
(kube.pod.describe, kube.pod.logs), never the adapter. Keys: c next container, f follow on/off,
t tail lines (100 / 1000 / all), r reload, escape back.
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

from screens.actor import actor_of

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

    async def _invoke(self, name: str, params: dict[str, Any], progress: Any = None) -> Any:
        return await self.runtime.dispatcher.invoke(name, params, actor=actor_of(self), progress=progress)

    @work(exclusive=True, group="kube-describe")
    async def describe(self) -> None:
        result = await self._invoke("kube.pod.describe", {"namespace": self.item.namespace, "name": self.item.name})
        widget = self.query_one("#pod-describe", Static)
        if result.ok:
            self.described = result.result
            widget.update(describe_renderable(result.result))
        else:
            self.error = result.error
            widget.update(Text(f"cannot describe: {result.error}", style="red"))

    @work(exclusive=True, group="kube-logs")
    async def logs(self) -> None:
        log = self.query_one("#pod-log", RichLog)
        log.clear()
        self.query_one("#pod-log-head", Static).update(self.log_head())
        params = {"namespace": self.item.namespace, "name": self.item.name, "container": self.container,
                  "tail_lines": TAILS[self.tail_index], "follow": self.follow, "max_seconds": 3600}
        result = await self._invoke("kube.pod.logs", params, progress=log.write if self.follow else None)
        if not result.ok:
            log.write(Text(f"cannot read logs: {result.error}", style="red"))
        elif not self.follow:
            for line in result.result["lines"]:
                log.write(line)

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
