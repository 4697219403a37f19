"""The flight recorder's size at the issue's load: 1,000 SLURM jobs polled every 5 s (the real
squeue fixture, scaled by benchmarks/recorder_size.py) must fit the 48 h window in the default
64 MiB cap."""

from __future__ import annotations

import pytest

from benchmarks.recorder_size import record
from cockpit.recorder import DEFAULT_MAX_BYTES, DEFAULT_WINDOW_S, Limits, Recording

pytestmark = pytest.mark.slow


def test_48_hours_at_1000_jobs_fit_the_default_cap() -> None:
    hours = 0.25  # 180 polls and two key frame rounds (a round every 10 min): more than the steady share
    path, _times, _sizes, _rebuild_ms, closed = record(1000, hours, 500.0, Limits(max_bytes=10**12))
    per_hour = closed / hours
    assert per_hour * DEFAULT_WINDOW_S / 3600 < DEFAULT_MAX_BYTES, f"{per_hour / 2**20:.2f} MiB per hour"
    with Recording.open(path) as rec:  # and what was written rebuilds
        first, last = rec.span()
        assert len(rec.snapshots_at(last)["slurm"].items) == 1000
        assert (last - first) == pytest.approx(hours * 3600 - 5, abs=1)
