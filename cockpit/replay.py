"""Replay: a hub whose collectors publish a recording's snapshots instead of fetching.

The screen subscribes to this hub exactly as to the live one; a ReplayController moves through
the recording (step, jump, play) and publishes what the live hub held at each moment. Nothing
fetches: a refresh republishes the current moment, and the runtime built here is read-only, so
every action is refused (and audited as refused, like any other).
"""

from __future__ import annotations

import asyncio
import bisect
from typing import Any

from cockpit.hub import Collector, Hub
from cockpit.recorder import Stepper, fmt_time
from cockpit.snapshot import FetchResult, Snapshot, Status
from cockpit.source_types import UnconfiguredSource
from cockpit.sources import SOURCE_NAMES


class ReplaySource:
    """Stands in for a backend during replay: it has nothing to fetch."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def fetch(self) -> FetchResult:  # pragma: no cover - replay collectors never fetch
        raise RuntimeError(f"{self.name}: replay fetches nothing")


class ReplayCollector(Collector):
    """A collector that never polls; `show` publishes a recorded snapshot to its subscribers."""

    def start(self) -> None:
        return None

    async def fetch_once(self) -> Snapshot:
        return self.snapshot

    def poke(self) -> None:
        return None

    def show(self, snapshot: Snapshot) -> None:
        self._publish(snapshot)


def replay_hub(stepper: Stepper) -> Hub:
    """One collector per source; sources the recording holds as unconfigured stay unconfigured."""
    first = stepper.recording.snapshots_at(stepper.moments[-1])
    collectors = []
    for name in SOURCE_NAMES:
        snap = first.get(name)
        if snap is None:
            source: Any = UnconfiguredSource(name, "not in this recording")
        elif snap.status is Status.UNCONFIGURED:
            source = UnconfiguredSource(name, snap.hint or "not configured when recorded")
        else:
            source = ReplaySource(name)
        collectors.append(ReplayCollector(source))
    return Hub(collectors)


class ReplayController:
    def __init__(self, stepper: Stepper, hub: Hub) -> None:
        self.stepper = stepper
        self.hub = hub
        self.playing = False
        self._moving: asyncio.Lock | None = None  # made on first use, on the running loop

    def show(self) -> dict[str, Snapshot]:
        """Publish the state at the cursor's moment to every collector that has it."""
        snapshots = self.stepper.snapshots()
        self._publish(snapshots)
        return snapshots

    def _publish(self, snapshots: dict[str, Snapshot]) -> None:
        for name, snap in snapshots.items():
            collector = self.hub.collectors.get(name)
            if isinstance(collector, ReplayCollector) and collector.configured:
                collector.show(snap)

    async def move(self, by: int = 0, to: float | None = None) -> bool:
        """Step `by` moments, or jump to the last moment at or before `to`, for the screen: the
        moment is rebuilt in a worker thread (up to a round of frames decoded and every item
        validated: tens to hundreds of ms at 1,000 jobs), then the cursor moves and it is
        published, so the screen never shows the new time over the old data. One move at a time;
        False when the cursor is already at that end."""
        if self._moving is None:
            self._moving = asyncio.Lock()
        async with self._moving:
            moments = self.stepper.moments
            if to is not None:
                target = max(bisect.bisect_right(moments, to) - 1, 0)
            else:
                target = min(max(self.stepper.index + by, 0), len(moments) - 1)
                if target == self.stepper.index:
                    return False
            snapshots = await asyncio.to_thread(self.stepper.recording.snapshots_at, moments[target])
            self.stepper.index = target
            self._publish(snapshots)
            return True

    def step(self, by: int) -> bool:
        moved = self.stepper.step(by)
        if moved:
            self.show()
        return moved

    def jump(self, t: float) -> None:
        self.stepper.jump(t)
        self.show()

    def next_delay(self) -> float | None:
        """Seconds of recorded time to the next moment; None at the end."""
        i = self.stepper.index
        moments = self.stepper.moments
        return None if i + 1 >= len(moments) else moments[i + 1] - moments[i]

    def position(self) -> str:
        s = self.stepper
        state = "playing" if self.playing else "paused"
        return f"REPLAY {fmt_time(s.now)}  {s.index + 1}/{len(s.moments)}  {state}"


def replay_runtime(loaded: Any, stepper: Stepper) -> tuple[Any, ReplayController]:
    """A read-only runtime over the recording (the config gives theme, keymap and audit path)."""
    from cockpit.audit import AuditLog
    from cockpit.ops import default_registry
    from cockpit.runtime import CockpitRuntime, audit_log_path

    hub = replay_hub(stepper)
    controller = ReplayController(stepper, hub)
    controller.show()
    runtime = CockpitRuntime(loaded=loaded, hub=hub, registry=default_registry(), audit=AuditLog(audit_log_path(loaded)),
                      read_only=True)
    return runtime, controller
