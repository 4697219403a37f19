"""One training job: conditions, replica statuses and its pods; logs filtered by launcher or worker.

Opened with `(runtime, item)` for a TrainingJobItem. Keys: l launcher (or master) logs, w next
worker's logs, D delete the job (Foreground; the dashboard confirms), escape back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from screens.kube_pod import PodScreen
from screens.render.kubernetes import job_wait_lines

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


def job_pods(runtime: "Runtime", item: Any) -> list[Any]:
    snap = runtime.hub.collectors["kubernetes"].snapshot
    names = set(item.pods)
    return sorted((p for p in snap.items.values() if p.namespace == item.namespace and p.name in names),
                  key=lambda p: p.name)


def pods_by_role(pods: list[Any], role: str) -> list[Any]:
    """'launcher' also matches a PyTorchJob's master; 'worker' the workers."""
    wanted = {"launcher": {"launcher", "master"}, "worker": {"worker"}}[role]
    return [p for p in pods if (p.role or "") in wanted]


def job_renderable(item: Any, pods: list[Any]) -> Any:
    out = Table.grid()
    out.add_row(Text(f"{item.kind} {item.namespace}/{item.name}  {item.state}  gpus {item.gpus}"
                     + (f"  queue {item.queue}" if item.queue else ""), style="bold"))
    for line in job_wait_lines(item):
        out.add_row(Text(line, style="yellow"))
    conds = Table("CONDITION", "STATUS", "REASON", "MESSAGE", box=None, header_style="bold dim")
    for c in item.conditions:
        conds.add_row(c.type, c.status, c.reason, c.message)
    out.add_row(conds)
    reps = Table("ROLE", "DESIRED", "ACTIVE", "SUCCEEDED", "FAILED", box=None, header_style="bold dim")
    for r in item.replicas:
        reps.add_row(r.role, str(r.desired), str(r.active), str(r.succeeded), str(r.failed))
    out.add_row(reps)
    table = Table("POD", "ROLE", "STATUS", "NODE", "RESTARTS", box=None, header_style="bold dim")
    for p in pods:
        table.add_row(p.name, p.role or "-", p.reason, p.node or "-", str(p.restarts))
    out.add_row(table)
    return out


class JobScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "logs('launcher')", "Launcher logs"),
        Binding("w", "logs('worker')", "Worker logs"),
    ]

    def __init__(self, runtime: "Runtime", item: Any) -> None:
        super().__init__()
        self.runtime, self.item = runtime, item
        self.worker_index = -1

    def compose(self) -> ComposeResult:
        yield Static(job_renderable(self.item, job_pods(self.runtime, self.item)), id="job-detail")
        yield Footer()

    def action_logs(self, role: str) -> None:
        pods = pods_by_role(job_pods(self.runtime, self.item), role)
        if not pods:
            self.notify(f"no {role} pod", severity="warning")
            return
        if role == "worker":
            self.worker_index = (self.worker_index + 1) % len(pods)
            pod = pods[self.worker_index]
        else:
            pod = pods[0]
        self.app.push_screen(PodScreen(self.runtime, pod))
