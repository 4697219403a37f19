"""The provisioning pane: one row per host x task of the current run, plus the grid view
(hosts x tasks) that screens/provisioning_run.py draws. Imports no Textual."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from screens.render import Column, attr

# Cell symbol and style per state: the grid must read at a glance, also without colour.
SYMBOLS: dict[str, tuple[str, str]] = {
    "running": ("…", "bold cyan"),
    "ok": ("✓", "green"),
    "changed": ("●", "bold yellow"),
    "failed": ("✗", "bold red"),
    "ignored": ("✗", "dim red"),
    "skipped": ("-", "dim"),
    "unreachable": ("!", "bold magenta"),
    "canceled": ("■", "red"),
    "timeout": ("■", "red"),
    "error": ("■", "red"),
}
BAD = ("failed", "unreachable")


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""


COLUMNS = [
    Column("HOST", attr("host")),
    Column("#", attr("task_index")),
    Column("TASK", attr("task")),
    Column("STATUS", attr("status")),
    Column("SECONDS", attr("duration_s")),
    Column("MESSAGE", lambda r: first_line(attr("message")(r))),
]

ROW_ACTIONS = [
    ("x", "ansible.cancel", "Cancel run", lambda item: {"run_id": attr("run_id")(item)}),
]

DETAIL_SCREEN = "screens.provisioning_run:ProvisioningRunScreen"


def detail(item: Any) -> str:
    """What `enter` shows for one cell: the task's full message and diff."""
    get = lambda name: attr(name)(item)  # noqa: E731
    parts = [f"{get('host')} / {get('task')}: {get('status')}"]
    if get("message"):
        parts += ["", get("message")]
    if get("diff"):
        parts += ["", get("diff")]
    return "\n".join(parts)


@dataclass(frozen=True)
class Grid:
    hosts: list[str]
    tasks: list[dict[str, Any]]  # index, name, play, action
    cells: dict[tuple[str, int], Any]  # (host, task index) -> TaskRow

    def symbol(self, host: str, index: int) -> tuple[str, str]:
        row = self.cells.get((host, index))
        if row is None:
            return (" ", "")
        return SYMBOLS.get(attr("status")(row), ("?", ""))

    def failures(self) -> list[Any]:
        return [r for r in self.cells.values() if attr("status")(r) in BAD]


def grid(items: Mapping[str, Any], sections: Mapping[str, Any]) -> Grid:
    """The hosts x tasks grid of a provisioning snapshot."""
    tasks = list(sections.get("tasks") or [])
    hosts = [h["host"] for h in sections.get("hosts") or []]
    cells: dict[tuple[str, int], Any] = {}
    for row in items.values():
        host, index = attr("host")(row), attr("task_index")(row)
        cells[(host, index)] = row
        if host not in hosts:
            hosts.append(host)
    return Grid(hosts=hosts, tasks=tasks, cells=cells)


def run_line(run: Any) -> str:
    """One line about a run: playbook, mode, status, recap."""
    if run is None:
        return "no provisioning run yet: run a playbook (ansible.run) or a dry run (ansible.check)"
    get = lambda name: attr(name)(run)  # noqa: E731
    mode = " (check mode)" if get("check") else ""
    rc = f" rc={get('rc')}" if get("rc") is not None else ""
    totals: dict[str, int] = {}
    for counts in (get("stats") or {}).values():
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    recap = " ".join(f"{k}={totals[k]}" for k in ("ok", "changed", "failed", "unreachable", "skipped") if k in totals)
    return f"{get('playbook')}{mode}: {get('status')}{rc} · {get('hosts')} hosts · {get('tasks')} tasks" + (
        f" · {recap}" if recap else "") + (f" · {first_line(get('error'))}" if get("error") else "")
