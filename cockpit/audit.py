"""Append-only JSONL audit log: one record before an action runs and one after (fsync'd, except
the records of read actions, which change nothing).

Nothing secret goes in: parameters pass through `redact` first.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

from cockpit.snapshot import to_jsonable, utcnow

SECRET_WORDS = ("password", "passwd", "secret", "token", "jwt", "private_key", "apikey", "api_key", "credential")
REDACTED = "***"


def is_secret_key(key: str) -> bool:
    k = key.lower()
    return any(word in k for word in SECRET_WORDS)


def redact(value: Any) -> Any:
    """Replace the values of secret-looking keys, recursively. SecretStr already prints '**'."""
    if isinstance(value, Mapping):
        return {k: (REDACTED if is_secret_key(str(k)) and v not in (None, "") else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Append one record. Records of read actions (they change nothing; some run on every
        cursor move) are not fsync'd; every other record is, before this returns."""
        entry = {"ts": utcnow().isoformat(), **redact(to_jsonable(dict(record)))}
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
                if record.get("danger") != "read":
                    os.fsync(fd)
            finally:
                os.close(fd)
        return entry

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open() as fh:
            for line in fh:
                line = line.strip()
                if line:
                    yield json.loads(line)
