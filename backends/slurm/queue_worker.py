"""Read the SLURM queue in a worker process, so the cockpit's event loop keeps its GIL.

Decoding a 10,000-job reply is one C call (msgspec) that holds the GIL for tens of milliseconds,
and parsing the changed jobs is Python that competes with the screen for it: in a thread, both
stall keypresses (issue 19). In a worker process they cost the screen nothing. The reply's bytes
go to the worker; what comes back is small: the reply's envelope (`meta`, `errors`,
`warnings`), the Jobs that are new or changed, and for every other job its position in the
previous reply, which QueueWorker turns into the item it already holds (queue_reader.reuse).

The worker is `python -m backends.slurm.queue_worker`, talking length-prefixed frames over its
stdin/stdout (not multiprocessing: its spawn re-imports the parent's __main__, which breaks
any caller's script without a main guard). The parent writes and reads those pipes in a
thread, where the blocking os.write/os.read calls let go of the GIL.

The worker's memory of the previous reply and the caller's items must be of the same reply: each
answer carries a token, the next request names the token its items came from, and a worker that
holds another (a cancelled fetch, a restarted worker) starts afresh and parses every job.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Callable

from backends.slurm.models import Job
from backends.slurm.queue_reader import JobsReader, decode_jobs_reply, reuse

# In the process that reads (the worker, or this one when reading in a thread):
# reader id -> (token of the reply it remembers, its reader).
_READERS: dict[str, tuple[str, JobsReader]] = {}

Answer = tuple[str | None, dict[str, Any], list[Job | int] | None]


def read_reply(reader_id: str, base_token: str | None, data: bytes | str, what: str, now: datetime) -> Answer:
    """(token, envelope, entries) for one reply; entries is None when Slurm reported errors
    (the caller raises them with its own words). Runs in the worker."""
    from backends.slurm.transport import gc_paused

    token, reader = _READERS.get(reader_id, (None, None))
    if reader is None or base_token is None or token != base_token:
        reader = JobsReader()
    with gc_paused():
        reply = decode_jobs_reply(data, what)
        head: dict[str, Any] = {key: value for key, value in reply.items() if key != "jobs"}
        if head.get("errors"):
            return None, head, None
        entries = reader.changes(reply, now)
    token = uuid.uuid4().hex
    _READERS[reader_id] = (token, reader)
    return token, head, entries


def forget(reader_id: str) -> None:
    _READERS.pop(reader_id, None)


_LENGTH = struct.Struct("!Q")


def _write_frame(fd: int, *parts: bytes) -> None:
    """Each part as its length (8 bytes) and its bytes, written straight to the pipe."""
    for part in parts:
        for chunk in (_LENGTH.pack(len(part)), part):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes:
    (n,) = _LENGTH.unpack(_read_exact(fd, _LENGTH.size))
    return _read_exact(fd, n)


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: (header, data) frames in, one answer frame out each, until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the cockpit's to handle
    fd_in, fd_out = stdin.fileno(), stdout.fileno()
    while True:
        try:
            header = _read_frame(fd_in)
            data = _read_frame(fd_in)
        except EOFError:
            return
        reader_id, base_token, what, now = pickle.loads(header)
        try:
            answer: tuple[str, Any] = ("ok", read_reply(reader_id, base_token, data, what, now))
            payload = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # every failure goes back to the cockpit, in words
            try:
                payload = pickle.dumps(("error", exc), pickle.HIGHEST_PROTOCOL)
            except Exception:
                payload = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        _write_frame(fd_out, payload)


class QueueWorker:
    """One per SLURM source: reads its first jobs reply in a thread (a one-shot `cockpit
    snapshot` never waits for a worker to start) and the following ones in a worker process,
    started after that first read (or restarted after it died: that read is in a thread again);
    only in threads with `process=False`. Holds the items of the last reply."""

    def __init__(self, process: bool = True, finish: Callable[[list[Job]], list[Job]] | None = None) -> None:
        self.process = process
        self.finish = finish  # applied to the jobs of each reply, before they are kept for the next
        self._id = uuid.uuid4().hex
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one exchange at a time over the pipes
        self._token: str | None = None
        self._jobs: list[Job] = []
        self.reused = 0  # jobs of the last reply whose items were reused

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parents[2])  # where `backends` is importable from
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        return subprocess.Popen([sys.executable, "-m", "backends.slurm.queue_worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
                                env={**os.environ, "PYTHONPATH": path})

    def _exchange(self, data: bytes | str, what: str, base_token: str | None, now: datetime) -> Answer:
        """One request to the worker and its answer (blocking: runs in a thread)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()  # died since the last read: a new one, which parses afresh
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            raw = data.encode() if isinstance(data, str) else data
            try:
                _write_frame(proc.stdin.fileno(), pickle.dumps((self._id, base_token, what, now)), raw)
                kind, value = pickle.loads(_read_frame(proc.stdout.fileno()))
            except (EOFError, OSError):
                code = proc.poll()
                self._stop()
                raise RuntimeError(f"the worker process reading {what} stopped"
                                   f"{f' (exit {code})' if code is not None else ''}; it restarts on the next refresh") from None
        if kind == "error":
            raise value
        return value

    async def read(self, data: bytes | str, what: str, now: datetime) -> tuple[dict[str, Any], list[Job] | None]:
        """(envelope, jobs); jobs is None when the envelope carries Slurm's errors."""
        if self._proc is not None:
            token, head, entries = await asyncio.to_thread(self._exchange, data, what, self._token, now)
        else:
            token, head, entries = await asyncio.to_thread(read_reply, self._id, self._token, data, what, now)
        if entries is None:
            return head, None
        jobs = await asyncio.to_thread(self._items, entries, now)
        self._token, self._jobs = token, jobs
        self.reused = sum(isinstance(e, int) for e in entries)
        if self.process and self._proc is None:
            await asyncio.to_thread(self._start_worker)
        return head, jobs

    def _items(self, entries: list[Job | int], now: datetime) -> list[Job]:
        jobs = reuse(entries, self._jobs, now)
        return self.finish(jobs) if self.finish is not None else jobs

    def _start_worker(self) -> None:
        """From the next read on, in the worker (which starts with no memory of this reply)."""
        with self._lock:
            if self._proc is None:
                self._proc = self._start()
                forget(self._id)

    def _stop(self) -> None:
        proc, self._proc, self._token = self._proc, None, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout) if proc is not None else ():
            if pipe is not None:
                pipe.close()

    def close(self) -> None:
        forget(self._id)
        self._stop()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
