"""The live screen's recorder: `:record FILE` / `--record FILE` start it, `:record stop` ends it.

What it writes is what `cockpit record` writes (the same recorder format, read by `cockpit
replay` and `cockpit snapshot --at`): every snapshot the screen's hub publishes, through a
HubTap. Opening and closing the SQLite file run in a worker thread, so the event loop never
waits on the disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cockpit.recorder import Limits, Recording, RecordingError
from cockpit.recorder_tap import HubTap


class ScreenRecorderError(Exception):
    """The recording could not start (a file that is not a recording, a directory not writable)."""


class ScreenRecorder:
    def __init__(self, hub: Any, limits: Limits | None = None) -> None:
        self.hub = hub
        self.limits = limits or Limits()  # the defaults: a 48 h window, a 64 MiB cap
        self.path: Path | None = None
        self._recording: Recording | None = None
        self._tap: HubTap | None = None
        self._opening = False  # a second :record while the first is opening its file

    @property
    def active(self) -> bool:
        return self._tap is not None

    @property
    def frames(self) -> int:
        return self._tap.frames if self._tap is not None else 0

    @property
    def error(self) -> str | None:
        """The last write that failed (a full disk): the recording goes on trying."""
        return self._tap.error if self._tap is not None else None

    async def start(self, path: str | Path) -> Path:
        """Record from now on: what the hub holds now, then every snapshot it publishes."""
        if self.active or self._opening:
            raise ScreenRecorderError(f"already recording to {self.path or path}")
        target = Path(path).expanduser()
        self._opening = True
        try:
            recording = await asyncio.to_thread(Recording.create_or_append, target, self.limits)
        except RecordingError as exc:
            raise ScreenRecorderError(str(exc)) from None
        except OSError as exc:
            raise ScreenRecorderError(f"{target}: cannot write the recording ({exc.strerror or exc})") from None
        finally:
            self._opening = False
        tap = HubTap(self.hub, recording)
        tap.start()
        self._recording, self._tap, self.path = recording, tap, target
        return target

    async def stop(self) -> Path | None:
        """Write what is queued, close the file; the path recorded to (None when not recording)."""
        tap, recording, path = self._tap, self._recording, self.path
        if tap is None or recording is None:
            return None
        self._tap = self._recording = None
        try:
            await tap.stop()
        finally:
            await asyncio.to_thread(recording.close)
        return path
