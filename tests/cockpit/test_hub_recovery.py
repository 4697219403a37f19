"""A failing source whose backend answers again is green within two refresh intervals (retries
are never spaced wider than the interval for sources built from the config)."""

from __future__ import annotations

import asyncio
import time

from cockpit.config import RefreshSpec
from cockpit.hub import Collector, make_timing
from cockpit.snapshot import FetchResult, Status


class Flaky:
    name = "flaky"

    def __init__(self) -> None:
        self.up = False

    async def fetch(self) -> FetchResult:
        if not self.up:
            raise ConnectionRefusedError("connection refused")
        return FetchResult(items={"a": {"id": "a"}})


def test_config_timing_caps_retries_at_the_interval():
    timing = make_timing(RefreshSpec(interval=5.0, min_interval=2.0))
    assert [timing.backoff(n) for n in range(1, 8)] == [1, 2, 4, 5, 5, 5, 5]


async def test_pane_is_green_within_two_intervals_after_the_backend_returns():
    interval = 0.4
    source = Flaky()
    collector = Collector(source, make_timing(RefreshSpec(interval=interval, min_interval=0.0)), always=True)
    collector.start()
    try:
        await asyncio.sleep(3.0)  # down long enough that plain doubling would wait 2-4 s more
        assert collector.snapshot.status == Status.ERROR and collector.failures >= 4
        source.up = True
        back = time.monotonic()
        while collector.snapshot.status != Status.OK:
            assert time.monotonic() - back < 2 * interval + 0.3, "still red after two intervals"
            await asyncio.sleep(0.02)
    finally:
        await collector.stop()
