"""Allocated-but-idle over time: since when each GPU held by a job or pod has stayed under the
idle threshold, across the snapshots a long-running view sees (the screen, the exporter).

A one-shot snapshot can only read the current utilisation; a view that keeps running keeps an
IdleClock, and a GPU is flagged once it has been under `IdlePolicy.below_pct` for `for_s`
seconds without a break. A reading at or over the threshold, a missing reading, or the job or
pod letting go of the GPU restarts its clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the screen makes its clock before its first frame
    from cockpit.gpu_map import GpuMap


class IdleClock:
    def __init__(self) -> None:
        self._since: dict[str, float] = {}  # gpu key -> when it was first seen idle

    def observe(self, gmap: GpuMap, now: float) -> dict[str, float]:
        """Record the map's current readings at `now` (seconds: the moment the view shows, so a
        replay counts recorded time); how long each GPU
        that is idle now has been idle without a break."""
        idle_now = {g.gpu for g in gmap.gpus if g.idle(gmap.policy)}
        self._since = {key: self._since.get(key, now) for key in idle_now}
        return self.durations(now)

    def durations(self, now: float) -> dict[str, float]:
        return {key: max(0.0, now - since) for key, since in self._since.items()}


def flagged(durations: Mapping[str, float], for_s: float) -> dict[str, float]:
    """The GPUs idle for at least `for_s` seconds, with how long."""
    return {key: seconds for key, seconds in durations.items() if seconds >= for_s}
