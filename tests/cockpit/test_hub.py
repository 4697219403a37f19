"""Collectors: no overlapping fetches, backoff with a cap, stale data kept, pausing, min interval."""

from __future__ import annotations

import asyncio

import pytest

from cockpit import hub as hub_module
from cockpit.hub import Collector, Hub, Timing, UnconfiguredSource
from cockpit.items import Item
from cockpit.snapshot import FetchResult, Snapshot, Status


class Row(Item):
    id: str
    value: int

    def key(self) -> str:
        return self.id


class ScriptedSource:
    """A source whose fetches follow a script: ints become one row, exceptions are raised."""

    name = "test"

    def __init__(self, script, delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.active = 0
        self.max_active = 0
        self.calls = 0

    async def fetch(self) -> FetchResult:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(self.delay)
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            if isinstance(step, BaseException):
                raise step
            return FetchResult.of([Row(id="r", value=step)])
        finally:
            self.active -= 1


async def test_fetches_never_overlap_even_when_poked_hard():
    source = ScriptedSource([1], delay=0.05)
    collector = Collector(source, Timing(interval=0.01, min_interval=0.0), always=True)
    collector.start()
    for _ in range(50):
        collector.poke()
        await asyncio.sleep(0.005)
    await asyncio.gather(*(collector.fetch_once() for _ in range(5)))
    await collector.stop()
    assert source.max_active == 1
    assert source.calls >= 3


async def test_error_keeps_last_good_data_marked_stale_then_recovers():
    source = ScriptedSource([1, RuntimeError("controller unreachable"), 2])
    collector = Collector(source, Timing(interval=1, min_interval=0))
    first = await collector.fetch_once()
    assert first.status is Status.OK and first.items["r"].value == 1 and not first.stale
    second = await collector.fetch_once()
    assert second.status is Status.ERROR and second.stale
    assert second.error == "controller unreachable"
    assert second.items["r"].value == 1  # last good data stays visible
    assert second.error_since is not None and second.next_retry_at is not None
    third = await collector.fetch_once()
    assert third.status is Status.OK and not third.stale and third.items["r"].value == 2 and third.error is None


async def test_error_without_previous_data_is_not_stale():
    collector = Collector(ScriptedSource([ValueError("malformed reply")]), Timing())
    snap = await collector.fetch_once()
    assert snap.status is Status.ERROR and not snap.stale and snap.items == {}


def test_backoff_doubles_up_to_the_cap():
    timing = Timing(interval=2, backoff_base=1, backoff_cap=10)
    assert [timing.backoff(n) for n in range(0, 7)] == [2, 1, 2, 4, 8, 10, 10]


async def test_loop_backs_off_after_errors():
    source = ScriptedSource([RuntimeError("down")])
    collector = Collector(source, Timing(interval=0.01, min_interval=0, backoff_base=0.2, backoff_cap=0.4), always=True)
    collector.start()
    await asyncio.sleep(0.7)
    await collector.stop()
    # 0 s, +0.2, +0.4: three attempts; with no backoff it would have been ~70.
    assert 2 <= source.calls <= 4
    assert collector.failures == source.calls


async def test_unwatched_source_pauses_and_resumes_when_watched():
    source = ScriptedSource([1])
    collector = Collector(source, Timing(interval=0.02, min_interval=0))
    collector.start()
    await asyncio.sleep(0.15)
    assert source.calls == 0  # nobody watches: paused
    unwatch = collector.watch()
    await asyncio.sleep(0.15)
    assert source.calls >= 3
    unwatch()
    await asyncio.sleep(0.05)
    paused_at = source.calls
    await asyncio.sleep(0.15)
    await collector.stop()
    assert source.calls == paused_at


async def test_unwatched_source_with_an_idle_factor_refreshes_more_slowly():
    source = ScriptedSource([1])
    collector = Collector(source, Timing(interval=0.02, min_interval=0, idle_factor=5))
    collector.start()
    await asyncio.sleep(0.35)  # unwatched: every 0.1 s instead of every 0.02 s
    await collector.stop()
    assert 2 <= source.calls <= 4


async def test_min_interval_coalesces_refresh_requests_from_many_viewers():
    source = ScriptedSource([1])
    collector = Collector(source, Timing(interval=100, min_interval=0.2), always=True)
    collector.start()
    await asyncio.sleep(0.05)
    for _ in range(10):  # ten viewers press refresh
        for _ in range(10):
            collector.refresh()
        await asyncio.sleep(0.04)
    await collector.stop()
    # 0.45 s elapsed, min interval 0.2 s: at most 3 fetches instead of 100.
    assert 1 <= source.calls <= 3


async def test_hung_backend_times_out_as_an_error():
    collector = Collector(ScriptedSource([1], delay=5), Timing(timeout=0.1))
    snap = await collector.fetch_once()
    assert snap.status is Status.ERROR and "no answer within 0.1 s" in snap.error


async def test_subscribers_get_changes_and_a_broken_subscriber_is_contained():
    collector = Collector(ScriptedSource([1, 2]), Timing())
    seen = []
    collector.subscribe(lambda snap: 1 / 0)
    collector.subscribe(seen.append)
    await collector.fetch_once()
    await collector.fetch_once()
    assert [s.items["r"].value for s in seen] == [1, 2]
    assert seen[1].version > seen[0].version


async def test_unconfigured_source_is_never_fetched_and_says_how_to_configure():
    collector = Collector(UnconfiguredSource("slurm", "set cockpit.slurm"), Timing())
    collector.start()
    snap = await collector.fetch_once()
    await collector.stop()
    assert snap.status is Status.UNCONFIGURED and snap.hint == "set cockpit.slurm"
    assert snap.to_json() == {"status": "unconfigured", "fetched_at": None, "error": None, "stale": False,
                              "items": [], "hint": "set cockpit.slurm"}


async def test_event_driven_source_pushes_results():
    class Pushing:
        name = "events"

        async def fetch(self):
            return FetchResult.of([Row(id="r", value=0)])

        async def watch(self, push, poke):
            for value in (1, 2, 3):
                await asyncio.sleep(0.01)
                push(FetchResult.of([Row(id="r", value=value)]))
            await asyncio.sleep(10)

    collector = Collector(Pushing(), Timing(interval=100))
    collector.start()
    await asyncio.sleep(0.1)
    await collector.stop()
    assert collector.snapshot.items["r"].value == 3


async def test_hub_wait_for_and_fetch_all():
    hub = Hub([Collector(ScriptedSource([1, 2, 3]), Timing(interval=0.01, min_interval=0))])
    async with hub.running():
        snap = await hub.wait_for("test", lambda s: bool(s.items) and s.items["r"].value == 3, timeout=2)
    assert snap.items["r"].value == 3
    snaps = await hub.fetch_all(timeout=1)
    assert snaps["test"].status is Status.OK
    with pytest.raises(TimeoutError):
        await hub.wait_for("test", lambda s: False, timeout=0.05)



@pytest.mark.parametrize("turns", [0, 1, 2, 3])
async def test_stop_ends_the_loop_even_when_a_finishing_fetch_swallows_the_cancel(turns):
    """The fetch completes in the same loop turn as stop() cancels the collector: Python 3.11's
    wait_for then returns the fetch's result instead of raising, and the loop went back to sleep
    for its whole interval, so quitting the app hung. `turns` after the fetch's answer arrives
    walk the cancel across that window."""
    loop = asyncio.get_running_loop()
    gate = loop.create_future()

    class Gated:
        name = "gated"

        async def fetch(self):
            await gate
            return FetchResult.of([])

    collector = Collector(Gated(), Timing(interval=60, min_interval=0, timeout=30), always=True)
    collector.start()
    for _ in range(5):
        await asyncio.sleep(0)  # the loop is in fetch_once, waiting on the gate
    gate.set_result(None)
    for _ in range(turns):
        await asyncio.sleep(0)
    task = collector._task
    me = asyncio.current_task()
    guard = loop.call_later(2.0, me.cancel)  # a hung stop() must not hang the test run
    started = loop.time()
    try:
        await collector.stop()  # runs in this task: its cancel lands in this very turn
    except asyncio.CancelledError:
        pass
    finally:
        guard.cancel()
    assert task.done(), "the collector's loop was still running after stop()"
    assert loop.time() - started < 1.5


class ResultsSource:
    """A source that returns (or raises) the given steps in turn, the last one from then on."""

    name = "results"

    def __init__(self, *steps: FetchResult | BaseException) -> None:
        self.steps = list(steps)

    async def fetch(self) -> FetchResult:
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, BaseException):
            raise step
        return step


def _result(value: int, events: list[str]) -> FetchResult:
    # fresh objects on every call, as a backend builds them on every fetch
    return FetchResult.of([Row(id="a", value=1), Row(id="b", value=value)], events=list(events), host_errors=[])


async def test_a_fetch_with_the_same_data_shares_it_and_is_still_published():
    source = ResultsSource(_result(2, ["started"]), _result(2, ["started"]), _result(3, ["started"]),
                           _result(3, ["started", "stopped"]))
    collector = Collector(source, Timing())
    heard = []
    collector.subscribe(heard.append)
    first = await collector.fetch_once()
    second = await collector.fetch_once()
    # Nothing new: the same items and sections objects, so a viewer can skip its work by identity...
    assert second.items is first.items and second.sections is first.sections
    assert second.same_data(first)
    # ...and still a new snapshot: a fresh fetch time and version, heard by every subscriber.
    assert second.fetched_at >= first.fetched_at and second.version == first.version + 1
    assert heard == [first, second]
    third = await collector.fetch_once()  # one item changed
    assert third.items is not second.items and third.items["b"].value == 3 and not third.same_data(second)
    fourth = await collector.fetch_once()  # only a section changed
    assert fourth.items is not third.items and list(fourth.sections["events"]) == ["started", "stopped"]
    assert not fourth.same_data(third)


async def test_data_that_comes_back_after_an_error_is_shown_as_recovered():
    source = ResultsSource(_result(2, []), RuntimeError("host unreachable"), _result(2, []))
    collector = Collector(source, Timing(interval=1, min_interval=0))
    good = await collector.fetch_once()
    failed = await collector.fetch_once()
    back = await collector.fetch_once()
    assert failed.status is Status.ERROR and failed.stale
    assert back.status is Status.OK and back.error is None and not back.stale
    # the rows are the same ones, but what the screen shows changed (no longer an error)
    assert back.items is good.items and not back.same_data(failed) and not failed.same_data(good)


async def test_a_result_too_large_to_compare_on_the_loop_is_published_as_new(monkeypatch):
    monkeypatch.setattr(hub_module, "SHARE_MAX_ENTRIES", 3)  # 2 items + 1 section entry fit; 2 do not
    small = Collector(ResultsSource(_result(2, ["x"])), Timing())
    first = await small.fetch_once()
    assert (await small.fetch_once()).items is first.items
    large = Collector(ResultsSource(_result(2, ["x", "y"])), Timing())
    first = await large.fetch_once()
    second = await large.fetch_once()
    assert second.items is not first.items and dict(second.items) == dict(first.items)


def test_an_evolved_snapshot_shares_its_items():
    snap = Snapshot(source="s", status=Status.OK, items={"a": Row(id="a", value=1)}, sections={"n": [1]})
    later = snap.evolve(version=7)
    assert later.items is snap.items and later.sections is snap.sections
    # a plain dict given to a snapshot is copied: changing it afterwards changes no snapshot
    given = {"a": Row(id="a", value=1)}
    own = Snapshot(source="s", status=Status.OK, items=given)
    given.clear()
    assert list(own.items) == ["a"]
