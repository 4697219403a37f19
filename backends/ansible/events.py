"""Fold ansible-runner events into the state of one run (pure: no I/O, no threads).

ansible-runner hands over one dict per event (`event`, `counter`, `event_data`: host, task,
task_uuid, play, res, ...). A run's state is the ordered task list, one cell per host x task,
the play recap and a short tail of events; `RunState.apply` folds events in `counter` order.
"""

from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from backends.ansible.models import RunInfo, TaskRow

MESSAGE_LIMIT = 4000
DIFF_LIMIT = 20000
EVENT_TAIL = 200

_LIVE_STATES = ("ok", "changed", "failed", "skipped", "unreachable", "ignored")
_RESULT_STATE = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 20] + "\n... (truncated)"


def failure_message(res: Any) -> str:
    """The useful part of a failed/unreachable result: msg, then stderr/stdout, per loop item too."""
    if not isinstance(res, dict):
        return str(res or "")
    if res.get("censored"):
        return str(res["censored"])
    parts: list[str] = []
    # A command's own stderr says more than ansible's generic "non-zero return code".
    keys = ("stderr", "msg") if res.get("msg") == "non-zero return code" else ("msg", "stderr")
    for key in (*keys, "module_stderr", "exception"):
        value = res.get(key)
        if value and str(value).strip() and str(value).strip() not in parts:
            parts.append(str(value).strip())
    if not res.get("stderr") and res.get("stdout") and res.get("rc") not in (None, 0):
        parts.append(str(res["stdout"]).strip())
    for item in res.get("results") or []:
        if isinstance(item, dict) and item.get("failed"):
            label = item.get("item")
            inner = failure_message({k: v for k, v in item.items() if k != "results"})
            if inner:
                parts.append(f"[{label}] {inner}" if label is not None else inner)
    if "rc" in res and res.get("rc") not in (None, 0) and not any("rc=" in p for p in parts):
        parts.append(f"rc={res['rc']}")
    text = "\n".join(line for line in "\n".join(parts).splitlines() if line.strip() != "(traceback unavailable)")
    return _clip(text, MESSAGE_LIMIT)


def render_diff(diff: Any) -> str:
    """ansible's `diff` result (a dict, or a list of them for loops) as a unified diff."""
    if not diff:
        return ""
    entries = diff if isinstance(diff, list) else [diff]
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("prepared"):
            out.append(str(entry["prepared"]).rstrip("\n"))
            continue
        before, after = entry.get("before"), entry.get("after")
        if before is None and after is None:
            continue
        if isinstance(before, str) and isinstance(after, str):
            out.extend(line.rstrip("\n") for line in difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True),
                fromfile=str(entry.get("before_header") or "before"),
                tofile=str(entry.get("after_header") or "after")))
        else:  # state or mode changes: {'path': ..., 'state': 'absent'} -> {'state': 'file'}
            out.append(f"- {before}\n+ {after}")
    return _clip("\n".join(out), DIFF_LIMIT)


@dataclass
class TaskInfo:
    index: int
    uuid: str
    name: str
    play: str
    action: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class RunState:
    run_id: str
    playbook: str
    inventory: str
    check: bool = False
    limit: str | None = None
    status: str = "starting"
    rc: int | None = None
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None
    artifact_dir: str | None = None
    error: str | None = None
    tasks: list[TaskInfo] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    cells: dict[tuple[str, int], TaskRow] = field(default_factory=dict)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=EVENT_TAIL))
    last_counter: int = 0
    event_count: int = 0
    # The last lines ansible-playbook printed: the reason when it dies before any task runs.
    stdout_tail: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    _task_by_uuid: dict[str, TaskInfo] = field(default_factory=dict)

    # -- folding --------------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        counter = int(event.get("counter") or 0)
        self.event_count += 1
        for line in str(event.get("stdout") or "").splitlines():
            if line.strip():
                self.stdout_tail.append(line)
        self.last_counter = max(self.last_counter, counter)
        if self.status == "starting":
            self.status = "running"
        if kind == "playbook_on_task_start" or kind == "playbook_on_handler_task_start":
            self._task(data)
        elif kind == "runner_on_start":
            self._cell(data, "running")
        elif kind in _RESULT_STATE:
            self._result(kind, data)
        elif kind == "playbook_on_stats":
            self._stats(data)
        if kind not in ("verbose", "debug") and (data.get("host") or data.get("task") or kind.startswith("playbook_on")):
            self.events.append({"counter": counter, "event": kind, "host": data.get("host"),
                                "task": data.get("task"), "at": event.get("created")})

    def _task(self, data: dict[str, Any]) -> TaskInfo:
        uuid = data.get("task_uuid") or data.get("uuid") or f"task-{len(self.tasks)}"
        info = self._task_by_uuid.get(uuid)
        if info is None:
            info = TaskInfo(index=len(self.tasks), uuid=uuid, name=data.get("task") or data.get("name") or "?",
                            play=data.get("play") or "", action=data.get("task_action") or data.get("resolved_action") or "")
            self.tasks.append(info)
            self._task_by_uuid[uuid] = info
        return info

    def _cell(self, data: dict[str, Any], status: str, **fields: Any) -> TaskRow | None:
        host = data.get("host")
        if not host:
            return None
        if host not in self.hosts:
            self.hosts.append(host)
        info = self._task(data)
        row = TaskRow(run_id=self.run_id, host=host, task_index=info.index, task=info.name, play=info.play,
                      action=info.action, status=status, **fields)
        self.cells[(host, info.index)] = row
        return row

    def _result(self, kind: str, data: dict[str, Any]) -> None:
        res = data.get("res") if isinstance(data.get("res"), dict) else {}
        status = _RESULT_STATE[kind]
        changed = bool(res.get("changed"))
        if status == "ok" and changed:
            status = "changed"
        if status == "failed" and data.get("ignore_errors"):
            status = "ignored"
        message = ""
        if status in ("failed", "ignored", "unreachable"):
            message = failure_message(res)
        elif status == "skipped":
            message = str(res.get("skip_reason") or res.get("false_condition") or "")
        self._cell(data, status, changed=changed, message=message, diff=render_diff(res.get("diff")),
                   duration_s=_float(data.get("duration")))

    def _stats(self, data: dict[str, Any]) -> None:
        mapping = {"ok": "ok", "changed": "changed", "failures": "failed", "skipped": "skipped",
                   "dark": "unreachable", "ignored": "ignored", "rescued": "rescued"}
        stats: dict[str, dict[str, int]] = {}
        for key, name in mapping.items():
            for host, count in (data.get(key) or {}).items():
                stats.setdefault(host, {n: 0 for n in mapping.values()})[name] = int(count)
        self.stats = stats
        for host in stats:
            if host not in self.hosts:
                self.hosts.append(host)

    def finish(self, status: str, rc: int | None, error: str | None = None) -> None:
        self.status = status
        self.rc = rc
        self.error = error
        self.finished_at = _now()
        # A canceled or crashed run leaves cells 'running': they did not finish.
        for key, row in list(self.cells.items()):
            if row.status == "running":
                self.cells[key] = row.model_copy(update={"status": "failed" if status == "failed" else status,
                                                         "message": row.message or f"run {status}"})

    # -- views ----------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def rows(self) -> list[TaskRow]:
        position = {host: i for i, host in enumerate(self.hosts)}
        return sorted(self.cells.values(), key=lambda r: (r.task_index, position[r.host]))

    def info(self) -> RunInfo:
        failed = sum(1 for r in self.cells.values() if r.status in ("failed", "unreachable"))
        return RunInfo(run_id=self.run_id, playbook=self.playbook, inventory=self.inventory, check=self.check,
                       limit=self.limit, status=self.status, rc=self.rc, started_at=self.started_at,
                       finished_at=self.finished_at, hosts=len(self.hosts), tasks=len(self.tasks),
                       failed_tasks=failed, stats=self.stats, artifact_dir=self.artifact_dir, error=self.error)

    def task_list(self) -> list[dict[str, Any]]:
        return [{"index": t.index, "name": t.name, "play": t.play, "action": t.action} for t in self.tasks]

    def host_recap(self) -> list[dict[str, Any]]:
        """Per host: the recap once the run ended, counted from the cells while it runs."""
        live: dict[str, dict[str, int]] = {}
        if any(host not in self.stats for host in self.hosts):
            for (host, _), row in self.cells.items():
                counts = live.setdefault(host, {s: 0 for s in _LIVE_STATES})
                if row.status in counts:
                    counts[row.status] += 1
                    if row.status == "changed":
                        counts["ok"] += 1  # ansible counts a change as ok too
        out = []
        for host in self.hosts:
            if host in self.stats:
                counts = dict(self.stats[host])
            else:
                counts = live.get(host) or {s: 0 for s in _LIVE_STATES}
            out.append({"host": host, **counts})
        return out

    def failures(self) -> list[TaskRow]:
        return [r for r in self.rows() if r.status in ("failed", "unreachable")]


def _float(value: Any) -> float | None:
    try:
        return round(float(value), 3)
    except (TypeError, ValueError):
        return None


def replay(run_id: str, events: Iterable[dict[str, Any]], playbook: str = "", inventory: str = "") -> RunState:
    """A run's state rebuilt from recorded events (artifacts, test fixtures)."""
    state = RunState(run_id=run_id, playbook=playbook, inventory=inventory)
    for event in sorted(events, key=lambda e: int(e.get("counter") or 0)):
        state.apply(event)
    return state
