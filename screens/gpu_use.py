"""The GPU table's allocated-but-idle flag, built off the event loop.

The flag comes from the GPU map (cockpit.gpu_map), which reads every SLURM job, pod and MLflow
run: with 10,000 jobs one build takes tens of milliseconds. Built on the event loop for every
snapshot of gpus, vms, slurm or kubernetes (a watched Kubernetes source publishes up to 20 a
second), it kept the loop busy and keypresses waiting. Here it is built in one worker thread,
from the newest snapshots, at most once per `min_gap_s` (arrivals in between fold into the next
build). A gpus snapshot is drawn at once with the last flag, and again when a new flag is ready;
with no GPU at all there is nothing to flag and no map is built."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping

from cockpit.gpu_map import IDLE_SECTION, gpus_with_idle
from cockpit.snapshot import Snapshot

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
        self._wanted = False
        self._at_once = False
        self._running = False
        self._last_start = float("-inf")
        self._executor: ThreadPoolExecutor | None = None

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
        self._wanted = True
        self._at_once = self._at_once or at_once
        if self._running:
            return False
        self._running = True
        return True

    def _flagged(self, gpus: Snapshot) -> Snapshot:
        idle = {} if not gpus.items else self.idle
        return gpus if idle is None else gpus.evolve(sections={**gpus.sections, IDLE_SECTION: idle})

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
                now = self._now() if self._now is not None else None
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-gpu-map")
                try:
                    gpus = await loop.run_in_executor(self._executor, gpus_with_idle, snapshots, self._config(),
                                                      self._clock, now)
                except Exception as exc:  # a map bug must not take the screen down: the table without the flag
                    self._report(f"GPU map: {exc}")
                    continue
                self.builds += 1
                if gpus is not None:
                    self.idle = gpus.sections.get(IDLE_SECTION)
                    self._show(gpus)
        finally:
            self._running = False

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
