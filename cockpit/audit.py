"""Append-only JSONL audit log: one record before an action runs and one after (fsync'd, except
the records of read actions, which change nothing).

The log is part of the action contract: a write that fails raises AuditUnavailable and the
dispatcher refuses the action before it runs. `problem()` checks the path without writing
(start-up, `config validate`); `recover()` closes starts left open by a process that died
(`action.lost`). Nothing secret goes in: parameters pass through `redact` first.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

from cockpit.redact import REDACTED, SECRET_WORDS, is_secret_key, redact  # noqa: F401 - re-exported
from cockpit.snapshot import to_jsonable, utcnow


class AuditUnavailable(Exception):
    """The audit record could not be written; whatever it was for must not run."""


def path_problem(path: Path) -> str | None:
    """Why `path` cannot serve as the audit log (None when it can), checked without writing."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            return f"audit log {path}: {parent} is not a directory"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"audit log {path}: cannot create it (directory {parent} is not writable)"
        return None
    except OSError as exc:
        return f"audit log {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"audit log {path}: not a regular file (records must be kept; a device or FIFO does not keep them)"
    if not os.access(path, os.W_OK):
        return f"audit log {path}: not writable"
    return None


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        return path_problem(self.path)

    def write(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Append one record; AuditUnavailable when it cannot be written. Records of read actions
        (they change nothing; some run on every cursor move) are not fsync'd; every other record
        is, before this returns."""
        entry = {"ts": utcnow().isoformat(), **redact(to_jsonable(dict(record)))}
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                # non-blocking: a FIFO with no reader fails at once instead of hanging the caller
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
                try:
                    st = os.fstat(fd)
                    if not stat.S_ISREG(st.st_mode):
                        raise OSError(errno.EINVAL, "not a regular file")
                    data = line.encode()
                    if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
                        data = b"\n" + data  # a line torn by a killed writer stays alone on its line
                    if os.write(fd, data) != len(data):
                        raise OSError(errno.ENOSPC, "short write")
                    if record.get("danger") != "read":
                        os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise AuditUnavailable(f"audit log {self.path} cannot be written: {exc.strerror or exc}") from None
        return entry

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record; a torn last line (a process killed mid-write) is skipped."""
        if not self.path.exists() or not self.path.is_file():
            return
        with self.path.open(errors="replace") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    yield rec

    def recover(self) -> list[str]:
        """Write `action.lost` for every `action.start` without an end whose process is gone
        (killed, crashed, machine rebooted). Returns the ids closed."""
        open_starts: dict[str, dict[str, Any]] = {}
        for rec in self.records():
            event, rid = rec.get("event"), rec.get("id")
            if event == "action.start" and rid:
                open_starts[rid] = rec
            elif event in ("action.end", "action.lost") and rid:
                open_starts.pop(rid, None)
        closed = []
        for rid, start in open_starts.items():
            if _alive(start.get("pid"), start.get("host")):
                continue  # another cockpit is running it right now
            self.write({"event": "action.lost", "id": rid, "action": start.get("action"),
                        "actor": start.get("actor"), "params": start.get("params"), "pid": start.get("pid"),
                        "error": "the process running it ended without an end record (killed or crashed); "
                                 "check the target's state by hand"})
            closed.append(rid)
        return closed


def _alive(pid: Any, host: Any) -> bool:
    import socket

    if host and host != socket.gethostname():
        return True  # another machine's process: we cannot tell, so we leave it open
    if not isinstance(pid, int):
        return False
    if pid == os.getpid():
        return False  # our own pid from an earlier life (containers reuse pid 1)
    from cockpit.procs import pid_alive

    return pid_alive(pid)
