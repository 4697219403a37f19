"""Taps a running hub into a recording: every published snapshot becomes a frame.

The hub's subscriber callback only queues (it runs on the event loop); one writer task hands the
queued snapshots to SQLite in a worker thread, so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from cockpit.recorder import Recording
from cockpit.snapshot import Snapshot

log = logging.getLogger(__name__)


class HubTap:
    def __init__(self, hub: Any, recording: Recording, clock: Callable[[], float] = time.time) -> None:
        self.hub = hub
        self.recording = recording
        self.clock = clock
        self.frames = 0
        self.error: str | None = None  # the last failed write (a full disk), for whoever shows it
        # None asks the writer to finish what is queued and stop
        self._queue: asyncio.Queue[tuple[float, Snapshot] | None] = asyncio.Queue()
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    def _on_publish(self, snap: Snapshot) -> None:
        self._queue.put_nowait((self.clock(), snap))

    def start(self) -> None:
        """Record what the hub holds now, then every change it publishes."""
        now = self.clock()
        for snap in self.hub.snapshots().values():
            self._queue.put_nowait((now, snap))
        self._unsubscribe = self.hub.subscribe_all(self._on_publish)
        self._task = asyncio.create_task(self._write_loop(), name="recorder")

    def _write(self, batch: list[tuple[float, Snapshot]]) -> None:
        for t, snap in batch:
            self.frames += self.recording.record({snap.source: snap}, t)

    async def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            batch = []
            entry = await self._queue.get()
            while True:
                if entry is None:
                    stopping = True
                else:
                    batch.append(entry)
                if self._queue.empty():
                    break
                entry = self._queue.get_nowait()
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception as exc:  # a full disk must not take the screen or the plan down
                log.exception("recording to %s failed", self.recording.path)
                self.error = str(exc) or type(exc).__name__

    async def stop(self) -> None:
        """Stop listening, write what is still queued, keep the file open for the caller to close."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task  # the writer is never cancelled mid-write: SQLite sees one thread at a time
            self._task = None
        await asyncio.to_thread(self.recording.enforce, self.clock(), True)
