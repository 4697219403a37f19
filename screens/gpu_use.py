"""The GPU table's allocated-but-idle flag, built off the event loop.

The flag comes from the GPU map (cockpit.gpu_map), which reads every SLURM job, pod and MLflow
run: with 10,000 jobs one build takes tens of milliseconds. Built on the event loop for every
snapshot of gpus, vms, slurm or kubernetes (a watched Kubernetes source publishes up to 20 a
second), it kept the loop busy and keypresses waiting. Here it is built in one worker thread,
from the newest snapshots, at most once per `min_gap_s` (arrivals in between fold into the next
build). A gpus snapshot is drawn at once with the last flag, and again when a new flag is ready;
with no GPU at all there is nothing to flag and no map is built.

An idle cockpit refetches every few seconds and mostly finds the same data, which the hub then
passes on as the same objects (cockpit/hub.py): a snapshot arriving while every snapshot the map
reads is still the one the last build read starts no build, and a build whose flag comes out as
before draws nothing again. Only the timed recheck (`at_once`: time moves idle durations on)
builds from unchanged data."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping

from cockpit.gpu_map import IDLE_SECTION, USE_SOURCES, gpus_with_idle
from cockpit.snapshot import Snapshot

_NO_IDLE: Mapping[str, float] = {}  # the flag without GPUs (one object: drawn again, it is unchanged data)


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Two _inputs() the same objects, element by element."""
    return len(a) == len(b) and a[0] is b[0] and all(
        x[0] == y[0] and x[1] is y[1] and x[2] is y[2] for x, y in zip(a[1:], b[1:]))


MIN_GAP_S = 1.0  # idleness is judged over minutes (cockpit.gpus.idle_for_min): a second late is nothing


class GpuUse:
    def __init__(self, snapshots: Callable[[], Mapping[str, Snapshot]], config: Callable[[], Any],
                 show: Callable[[Snapshot], None], report: Callable[[str], None],
                 clock: Any = None, now: Callable[[], float] | None = None, min_gap_s: float = MIN_GAP_S) -> None:
        """`clock`, `now`: the screen's IdleClock (cockpit/idle_clock.py) and the moment it shows,
        in seconds (asked on the loop before each build; the clock is only used by the builds)."""
        self._snapshots, self._config, self._show, self._report = snapshots, config, show, report
        self._clock, self._now = clock, now
        self.min_gap_s = min_gap_s
        self.idle: Any = None  # the last flag built, as gpus_with_idle gives it (None: none yet)
        self.builds = 0
        self._built_from: tuple[Any, ...] | None = None  # what the last build read (see _inputs)
        self._flagged_last: tuple[Any, Any, Snapshot] | None = None  # (gpus sections, flag, flagged snapshot)
        self._wanted = False
        self._at_once = False
        self._running = False
        self._last_start = float("-inf")
        self._executor: ThreadPoolExecutor | None = None

    @staticmethod
    def reads(source: str) -> bool:
        """Whether a snapshot of `source` may move the flag (the GPU map reads it)."""
        return source in USE_SOURCES

    def arrived(self, snap: Snapshot | None = None, at_once: bool = False) -> bool:
        """A snapshot that may move the flag arrived (None: draw what the hub holds now). True
        when the caller is to start `run()` as a worker (none is running). `at_once`: the next
        build does not wait out min_gap_s (a timed recheck, not a stream of snapshots)."""
        gpus = snap if snap is not None and snap.source == "gpus" else self._snapshots().get("gpus")
        if gpus is None:
            return False
        if snap is None or snap.source == "gpus":
            self._show(self._flagged(gpus))  # at once, with the last flag; the new one follows
        if not gpus.items:
            return False
        if not at_once and self._built_from is not None and _same(self._inputs(self._snapshots()), self._built_from):
            return False  # the last build (or the one running) read these very snapshots' data
        self._wanted = True
        self._at_once = self._at_once or at_once
        if self._running:
            return False
        self._running = True
        return True

    def _flagged(self, gpus: Snapshot) -> Snapshot:
        idle = _NO_IDLE if not gpus.items else self.idle
        if idle is None:
            return gpus
        last = self._flagged_last
        if last is not None and last[0] is gpus.sections and last[1] is idle:
            # the same sections object as last time: the table sees unchanged data by identity
            return gpus.evolve(sections=last[2].sections)
        flagged = gpus.evolve(sections={**gpus.sections, IDLE_SECTION: idle})
        self._flagged_last = (gpus.sections, idle, flagged)
        return flagged

    def _inputs(self, snapshots: Mapping[str, Snapshot]) -> tuple[Any, ...]:
        """What a build reads, as objects compared by identity: the config and every snapshot's
        items and sections (the hub keeps them when a fetch found the same data)."""
        return (self._config(), *((name, snap.items, snap.sections) for name, snap in sorted(snapshots.items())))

    async def run(self) -> None:
        """Build the flag until no arrival wants a newer one."""
        loop = asyncio.get_running_loop()
        try:
            while self._wanted:
                wait = self._last_start + self.min_gap_s - time.monotonic()
                if wait > 0 and not self._at_once:
                    await asyncio.sleep(wait)
                self._wanted = self._at_once = False
                self._last_start = time.monotonic()
                snapshots = dict(self._snapshots())
                self._built_from = self._inputs(snapshots)
                now = self._now() if self._now is not None else None
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-gpu-map")
                try:
                    gpus = await loop.run_in_executor(self._executor, gpus_with_idle, snapshots, self._config(),
                                                      self._clock, now)
                except Exception as exc:  # a map bug must not take the screen down: the table without the flag
                    self._built_from = None  # the next arrival tries again
                    self._report(f"GPU map: {exc}")
                    continue
                self.builds += 1
                if gpus is not None:
                    idle = gpus.sections.get(IDLE_SECTION)
                    if self.idle is not None and idle == self.idle:
                        continue  # the same flag: every gpus snapshot that arrived is drawn with it
                    self.idle = idle
                    # what the next arrival of the same gpus data is drawn with (see _flagged)
                    self._flagged_last = (snapshots["gpus"].sections, idle, gpus)
                    self._show(gpus)
        finally:
            self._running = False

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
