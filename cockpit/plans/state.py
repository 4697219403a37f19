"""The run's state file and its JSON-lines event stream, both durable at every step transition.

Protocol, so that `kill -9` at any instant loses nothing:
1. the state file is rewritten atomically (temp file, fsync, rename, fsync of the directory),
   carrying the transition's event as `last_event` with its sequence number;
2. then that event is appended to events.jsonl and fsync'd.
A kill between 1 and 2 leaves the event only in the state; `EventLog.repair` appends it on
resume. A torn last line (kill during the append) is cut off first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from cockpit.errors import ConfigError
from cockpit.redact import is_secret_key, scrub, scrub_values
from cockpit.snapshot import utcnow

STATE_FORMAT = 1
FINAL = ("passed", "failed", "skipped")
STATUSES = ("pending", "running", "passed", "failed", "skipped", "interrupted")


def _dumps(value: Any) -> str:
    # Records are made JSON-ready when they are stored (to_jsonable at the edges), so the hot
    # path is a plain dump: walking the whole state per transition cost ~40 ms at 200 steps.
    return json.dumps(value, default=str)


def atomic_write(path: Path, text: str, *, sync_dir: bool = True) -> None:
    """Write to a temp file, fsync it, rename it over `path`: a reader (or a resume after kill -9)
    sees the old or the new content, never a torn one. `sync_dir` also makes the rename itself
    durable against power loss; rewrites of a file that exists may skip it (after a power cut the
    previous, consistent version may come back, which resume handles as a step to repeat)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync_dir or not existed:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def new_step_record() -> dict[str, Any]:
    return {"status": "pending", "attempts": [], "outputs": {}, "detail": None, "error": None, "reason": None,
            "started_at": None, "ended_at": None, "duration_s": None, "audit_ids": []}


@dataclass
class RunState:
    run_id: str
    plan_name: str
    plan_source: str
    plan_sha256: str
    plan_text: str
    overrides: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    started_at: str = field(default_factory=lambda: utcnow().isoformat())
    updated_at: str | None = None
    ended_at: str | None = None
    phase: str = "main"  # main | cleanup | done
    verdict: str | None = None  # passed | failed | interrupted
    resumes: list[str] = field(default_factory=list)
    seq: int = 0
    last_event: dict[str, Any] | None = None
    report_dir: str | None = None
    # Names of --var values that look secret (HF_TOKEN, vault_pw, ...): their values are never
    # written here; a resume asks for them again.
    secret_overrides: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, **{k: getattr(self, k) for k in self.__dataclass_fields__}}

    def save(self, path: Path) -> None:
        """Written with registered secrets, JWTs and URL passwords scrubbed from everything but
        the plan's own text (a resume needs it as it was). Secret-looking --var values are left
        out entirely: only their names are kept, and a resume must be given them again."""
        self.updated_at = utcnow().isoformat()
        self.secret_overrides = sorted({*self.secret_overrides, *(
            k for k, v in self.overrides.items() if is_secret_key(k) or scrub_values(v) != v)})
        doc = self.to_json()
        plain = {k: v for k, v in self.overrides.items() if k not in self.secret_overrides}
        kept = {"plan_text": doc.pop("plan_text"), "overrides": plain}
        doc.pop("overrides")
        atomic_write(path, _dumps({**scrub_values(doc), **kept}) + "\n", sync_dir=False)

    @classmethod
    def load(cls, path: Path) -> "RunState":
        where = str(path)
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(where, ["state file not found"]) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(where, [f"not a plan state file: {exc}"]) from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ConfigError(where, [f"format: expected a plan state file of format {STATE_FORMAT}"])
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        missing = [k for k in ("run_id", "plan_name", "plan_source", "plan_sha256", "plan_text", "overrides", "steps")
                   if k not in fields]
        if missing:
            raise ConfigError(where, [f"{k}: missing" for k in missing])
        return cls(**fields)


class EventLog:
    """events.jsonl: one JSON object per line, appended and fsync'd."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, event: Mapping[str, Any], *, sync: bool = True) -> None:
        os.write(self._fd, (scrub(_dumps(event), assignments=False) + "\n").encode())  # registered secrets, JWTs, URL passwords
        if sync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @staticmethod
    def read(path: Path) -> Iterator[dict[str, Any]]:
        if not Path(path).exists():
            return
        with open(path) as fh:
            for line in fh:
                line = line.strip()
                if line:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue  # a torn line from a killed writer

    @staticmethod
    def repair(path: Path, last_event: Mapping[str, Any] | None) -> int:
        """Cut a torn last line and append `last_event` if the log ends before it. Returns the
        number of events appended (0 or 1)."""
        path = Path(path)
        if path.exists():
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                with open(path, "r+b") as fh:
                    fh.truncate(cut)
                    fh.flush()
                    os.fsync(fh.fileno())
        if not last_event:
            return 0
        last_seq = 0
        for event in EventLog.read(path):
            last_seq = max(last_seq, int(event.get("seq", 0) or 0))
        if last_seq >= int(last_event.get("seq", 0)):
            return 0
        log = EventLog(path)
        try:
            log.append(last_event)
        finally:
            log.close()
        return 1
