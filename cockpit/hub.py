"""The hub: one collector per source, shared by every viewer (screen, SSH sessions, plans).

Rules from DESIGN.md that live here:
- a collector never overlaps itself: the next fetch is scheduled when the last one ends;
- errors back off exponentially up to a cap, and the last good data stays visible, marked stale;
- a per-source minimum interval, so refresh requests from ten viewers cost one fetch;
- sources nobody watches pause (unless the hub runs in 'always' mode, e.g. for plans);
- event-driven sources may push results or poke for an early fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Mapping

from cockpit.snapshot import FetchResult, Snapshot, Status, is_model, utcnow
from cockpit.source_types import Source, UnconfiguredSource

log = logging.getLogger(__name__)

Subscriber = Callable[[Snapshot], object]  # what it returns is ignored (post_message returns a bool)


@dataclass(frozen=True)
class Timing:
    interval: float = 2.0
    min_interval: float = 0.5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    # A fetch slower than this is abandoned and counted as an error (a hung backend must not
    # freeze its pane forever).
    timeout: float = 30.0
    # Interval multiplier while nobody watches and the hub is not in 'always' mode: 0 = pause.
    idle_factor: float = 0.0
    # Longest wait between retries of a failing source, so that a backend that answers again
    # is green within two of these (make_timing sets it to the refresh interval: a failing
    # source is then never asked more rarely than a healthy one). None: backoff_cap only.
    recover_within: float | None = None

    def backoff(self, failures: int) -> float:
        if failures <= 0:
            return self.interval
        # the exponent is capped so a long outage never overflows the float
        delay = min(self.backoff_cap, self.backoff_base * 2.0 ** min(failures - 1, 62))
        return delay if self.recover_within is None else min(delay, self.recover_within)


# Up to this many items and section entries, a polled result is compared with the snapshot before
# (on the loop: a few microseconds for the embedded default's sources, about 1 ms for 2,000
# items). Larger results are not: their tables compare rows in a worker thread anyway
# (screens/source_table.py), and the loop must stay free.
SHARE_MAX_ENTRIES = 2_000


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (Mapping, list, tuple, set, frozenset)) else 1


def _same_item(a: Any, b: Any) -> bool:
    # Frozen pydantic items compare by their field values (pydantic's own __eq__ costs more);
    # the tables judge "this row changed" the same way (screens/source_table.py, diff_rows).
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    return bool(a.__dict__ == b.__dict__) if is_model(kind) else bool(a == b)


def same_result(previous: Snapshot, result: FetchResult) -> bool:
    """Whether a fetch brought exactly the data `previous` shows: the same item keys in the same
    order, equal items, the same sections with equal values. False (compared no further) for a
    result over SHARE_MAX_ENTRIES."""
    items, old_items = result.items, previous.items
    sections, old_sections = result.sections, previous.sections
    if len(items) != len(old_items) or list(sections) != list(old_sections):
        return False
    if len(items) + sum(_size(v) for v in sections.values()) > SHARE_MAX_ENTRIES:
        return False
    try:
        return (list(items) == list(old_items) and all(map(_same_item, old_items.values(), items.values()))
                and all(bool(value == old_sections[name]) for name, value in sections.items()))
    except Exception:  # a value that cannot say whether it is equal: treat it as new data
        return False


def short_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first if len(first) <= 300 else first[:297] + "..."


class Collector:
    def __init__(
        self,
        source: Source,
        timing: Timing = Timing(),
        *,
        clock: Callable[[], float] = time.monotonic,
        always: bool = False,
    ) -> None:
        self.source = source
        self.name = source.name
        self.timing = timing
        self.clock = clock
        self.always = always
        self.fetch_count = 0
        self.failures = 0
        self._subscribers: list[Subscriber] = []
        self._watchers = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._running_fetch = False
        self._last_fetch_start: float | None = None
        self._version = 0
        if isinstance(source, UnconfiguredSource):
            self.snapshot = Snapshot.unconfigured(self.name, source.hint)
        else:
            self.snapshot = Snapshot.pending(self.name)

    # -- subscription -------------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return not isinstance(self.source, UnconfiguredSource)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    @property
    def watchers(self) -> int:
        return self._watchers

    def watch(self) -> Callable[[], None]:
        """A viewer looks at this source; returns the function that stops watching."""
        self._watchers += 1
        self._wake.set()
        done = False

        def unwatch() -> None:
            nonlocal done
            if not done:
                done = True
                self._watchers -= 1

        return unwatch

    def _publish(self, snapshot: Snapshot) -> None:
        self._version += 1
        self.snapshot = snapshot.evolve(version=self._version)
        for callback in list(self._subscribers):
            try:
                callback(self.snapshot)
            except Exception:  # a broken viewer must not break the collector
                log.exception("subscriber of %s failed", self.name)

    # -- fetching -----------------------------------------------------------------------------
    def _accept(self, result: FetchResult, *, share_unchanged: bool = False) -> None:
        """Publish a good result. `share_unchanged` (polled fetches): when it holds the same data
        as the snapshot before, the new snapshot carries that one's items and sections (the
        same objects), so every viewer tells "nothing new" by identity and skips its work; the
        fetch time, version and status still move on and every subscriber still hears of it."""
        self.failures = 0
        items, sections = result.items, result.sections
        previous = self.snapshot
        if share_unchanged and previous.fetched_at is not None and same_result(previous, result):
            items, sections = previous.items, previous.sections
        self._publish(
            Snapshot(
                source=self.name,
                status=Status.OK,
                fetched_at=utcnow(),
                items=items,
                sections=sections,
            )
        )

    def _reject(self, exc: BaseException) -> None:
        self.failures += 1
        previous = self.snapshot
        has_data = previous.fetched_at is not None
        now = utcnow()
        self._publish(
            previous.evolve(
                status=Status.ERROR,
                error=short_error(exc),
                stale=has_data,
                error_since=previous.error_since if previous.status == Status.ERROR else now,
                next_retry_at=now + timedelta(seconds=self.timing.backoff(self.failures)),
            )
        )

    async def fetch_once(self) -> Snapshot:
        """One fetch now (used by the one-shot CLI and by the loop). Never raises."""
        if not self.configured:
            return self.snapshot
        if self._running_fetch:  # never overlap: wait for the fetch already under way
            while self._running_fetch:
                await asyncio.sleep(0.01)
            return self.snapshot
        self._running_fetch = True
        self._last_fetch_start = self.clock()
        self.fetch_count += 1
        try:
            # asyncio.timeout, not wait_for: no task of its own per fetch (an idle cockpit fetches
            # every two seconds, and each extra task is extra turns of the loop)
            async with asyncio.timeout(self.timing.timeout):
                result = await self.source.fetch()
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            self._reject(TimeoutError(f"no answer within {self.timing.timeout:g} s"))
        except Exception as exc:  # every backend failure becomes a pane state, never a crash
            log.debug("fetch %s failed", self.name, exc_info=True)
            self._reject(exc)
        else:
            self._accept(result, share_unchanged=True)
        finally:
            self._running_fetch = False
        return self.snapshot

    def push(self, result: FetchResult) -> None:
        """An event-driven source hands over a complete new result."""
        self._accept(result)

    def poke(self) -> None:
        """Ask for a fetch soon (coalesced; bounded by min_interval)."""
        self._wake.set()

    def refresh(self) -> None:
        self.poke()

    def _delay(self) -> float | None:
        """Seconds until the next fetch, or None to sleep until woken (paused)."""
        if self.failures:
            return self.timing.backoff(self.failures)
        if self._watchers == 0 and not self.always:
            if self.timing.idle_factor <= 0:
                return None
            return self.timing.interval * self.timing.idle_factor
        return self.timing.interval

    async def _loop(self) -> None:
        slowed_due = False  # an unwatched source's slowed refresh (idle_factor > 0) is due
        while True:
            if self._watchers > 0 or self.always or self._wake.is_set() or slowed_due:
                self._wake.clear()
                await self.fetch_once()
            delay = self._delay()
            slowed_due = False
            try:
                async with asyncio.timeout(delay):  # None: until woken
                    await self._wake.wait()
            except asyncio.TimeoutError:
                slowed_due = (self._watchers == 0 and not self.always and not self.failures
                              and self.timing.idle_factor > 0)
            # Woken early (poke, new watcher): still respect the minimum interval.
            if self._last_fetch_start is not None:
                since = self.clock() - self._last_fetch_start
                if since < self.timing.min_interval:
                    await asyncio.sleep(self.timing.min_interval - since)

    async def _run_watch(self) -> None:
        backoff = 0
        while True:
            try:
                await self.source.watch(self.push, self.poke)  # type: ignore[attr-defined]
                backoff = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                backoff += 1
                log.debug("watch %s failed", self.name, exc_info=True)
                self._reject(exc)
            await asyncio.sleep(self.timing.backoff(max(backoff, 1)))

    def start(self) -> None:
        if not self.configured or self._task is not None:
            return
        self._task = asyncio.create_task(self._loop(), name=f"collector:{self.name}")
        if hasattr(self.source, "watch"):
            self._watch_task = asyncio.create_task(self._run_watch(), name=f"watch:{self.name}")

    async def stop(self) -> None:
        for task in (self._task, self._watch_task):
            if task is None:
                continue
            # Cancel until the task is really over: a cancel can be swallowed (Python 3.11's
            # asyncio.wait_for returns the result of a fetch that completed just as it was
            # cancelled), and the loop would then sleep on, holding up the app's exit.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
            if not task.cancelled():
                task.exception()  # retrieved: a loop that ended in an error is not logged at exit
        self._task = self._watch_task = None
        close = getattr(self.source, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                result = close()
                if isinstance(result, Awaitable):
                    await result


class Hub:
    """All collectors of one cockpit process. N viewers share them."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors: dict[str, Collector] = {c.name: c for c in collectors}
        self.started = False

    def __getitem__(self, name: str) -> Collector:
        return self.collectors[name]

    def add(self, collector: Collector) -> Collector:
        """Add a collector to a hub that may already run (a source attached on demand, such as
        provisioning runs); it starts at once when the hub has started."""
        if collector.name in self.collectors:
            raise ValueError(f"the hub already has a collector named {collector.name!r}")
        self.collectors[collector.name] = collector
        if self.started:
            collector.start()
        return collector

    def snapshots(self) -> dict[str, Snapshot]:
        return {name: c.snapshot for name, c in self.collectors.items()}

    def subscribe_all(self, callback: Subscriber) -> Callable[[], None]:
        unsubs = [c.subscribe(callback) for c in self.collectors.values()]

        def unsubscribe_all() -> None:
            for unsubscribe in unsubs:
                unsubscribe()

        return unsubscribe_all

    def start(self) -> None:
        for c in self.collectors.values():
            c.start()
        self.started = True

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.collectors.values()))
        self.started = False

    async def fetch_all(self, timeout: float | None = None) -> dict[str, Snapshot]:
        """One fetch of every configured source at once: the one-shot snapshot."""
        async def one(c: Collector) -> None:
            if timeout is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(c.fetch_once(), timeout)
            else:
                await c.fetch_once()

        await asyncio.gather(*(one(c) for c in self.collectors.values()))
        return self.snapshots()

    async def wait_for(
        self, name: str, predicate: Callable[[Snapshot], bool], timeout: float
    ) -> Snapshot:
        """Wait until a source's snapshot satisfies predicate (plans, tests)."""
        collector = self.collectors[name]
        if predicate(collector.snapshot):
            return collector.snapshot
        changed: asyncio.Queue[Snapshot] = asyncio.Queue()
        unsubscribe = collector.subscribe(changed.put_nowait)
        unwatch = collector.watch()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    snap = await changed.get()
                    if predicate(snap):
                        return snap
        finally:
            unsubscribe()
            unwatch()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["Hub"]:
        self.start()
        try:
            yield self
        finally:
            await self.stop()


def make_timing(spec: Any) -> Timing:
    """Build Timing from a config entry (cockpit.config.RefreshSpec)."""
    return Timing(
        interval=spec.interval,
        min_interval=spec.min_interval,
        backoff_cap=spec.backoff_cap,
        timeout=spec.timeout,
        recover_within=spec.interval,
    )
