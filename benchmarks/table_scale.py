"""Tables at scale: a SourceTable (virtual: draws only visible rows) fed 1,000 and 10,000 SLURM
jobs, then the same with 1% of rows changed, and a page down. Prints milliseconds.

"Until the frame" is the time from handing the snapshot to the table (SourceTable.apply, as the
pane does) to the first frame the compositor hands to the driver (App._display) that shows it
(the table's shown_snapshot is that snapshot), or, for a key, that shows the moved cursor. The
cursor sits on job 100, so changed rows (jobs 99, 100, 199, 200, ...) are on screen: a change
nobody can see draws no frame.

The 1% update is measured twice. First as the SLURM source hands a refresh to the table: its
queue reader (backends/slurm/queue_reader.py) keeps the Job of a job whose JSON did not change,
so the 99% unchanged rows are the very objects of the last snapshot and the 1% changed are new
(a watched Kubernetes pod index keeps its unchanged pods the same way). Then with every item a
new object (a source that rebuilds all its items, as the SLURM source did before its reader
kept them): the table then compares all 10,000 by value to find the 1% that changed.

The garbage collector is set as the cockpit app sets it (cockpit/gc_pause.py).

The 1% update is repeated (medians of 15), with the process CPU spent until the frame (the
event loop and the table's worker thread together) and the longest the event loop went without
running a step meanwhile (a 1 ms heartbeat task): what a keypress could have waited.

    .venv/bin/python -m benchmarks.table_scale
"""

from __future__ import annotations

import asyncio
import statistics
import time

from textual import events
from textual.app import App

from backends.slurm.models import Job
from cockpit.snapshot import Snapshot, Status, utcnow
from cockpit.gc_pause import tune_for_latency
from screens.pane import SourceTable

REPEATS = 15


def jobs(n: int, generation: int = 0) -> dict[str, Job]:
    return {str(i): Job(job_id=i, display_id=str(i), name=f"job{i}", user="alice", partition="gpu", gpus=i % 8,
                        state="PENDING" if (i + generation) % 100 == 0 else "RUNNING",
                        time_used_s=i + generation * (i % 100 == 0)) for i in range(1, n + 1)}


def kept(previous: dict[str, Job], fresh: dict[str, Job]) -> dict[str, Job]:
    """`fresh` as the SLURM queue reader hands it: a job equal to the one before is that object."""
    return {key: (was if (was := previous.get(key)) is not None and was.__dict__ == job.__dict__ else job)
            for key, job in fresh.items()}


class Bench(App[None]):
    def __init__(self) -> None:
        super().__init__()
        tune_for_latency()  # as the cockpit app does (screens/app.py)
        self.frame = asyncio.Event()
        self.frames: list[tuple[float, Snapshot | None, int]] = []  # (when, snapshot shown, cursor row)

    def compose(self):
        yield SourceTable("slurm", id="t")

    def _display(self, screen, renderable) -> None:
        super()._display(screen, renderable)
        if renderable is not None:
            table = self.query_one(SourceTable)
            self.frames.append((time.perf_counter(), table.shown_snapshot, table.cursor_row))
            self.frame.set()


async def _until(app: Bench, shows, timeout: float = 10.0) -> float:
    """The perf_counter time of the first frame (since app.frames was cleared) for which
    `shows(snapshot shown, cursor row)` holds; waits for it."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for when, snap, row in app.frames:
            if shows(snap, row):
                return when
        app.frame.clear()
        try:
            await asyncio.wait_for(app.frame.wait(), max(0.0, deadline - time.perf_counter()))
        except asyncio.TimeoutError:
            break
    raise RuntimeError("no frame showed the update")


async def _heartbeat(gaps: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def _update(app: Bench, table: SourceTable, snap: Snapshot) -> tuple[float, float, float]:
    """(wall until the frame, process CPU meanwhile, longest loop stall), in seconds."""
    gaps: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.ensure_future(_heartbeat(gaps, stop))
    await asyncio.sleep(0.005)
    app.frames.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    table.apply(snap)
    shown = await _until(app, lambda s, _row: s is snap)
    cpu = time.process_time() - c0
    stop.set()
    await beat
    return shown - t0, cpu, max(gaps, default=0.0)


async def measure(sizes: tuple[int, ...] = (1_000, 10_000), echo: bool = True) -> dict[int, dict[str, float]]:
    """Per table size (rows): first fill, one 1% change and a page down, each until the frame,
    and medians over REPEATS 1% changes (until the frame, CPU, longest loop stall), in ms."""
    figures: dict[int, dict[str, float]] = {}
    app = Bench()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(SourceTable)
        for n in sizes:
            first = jobs(n)
            fill, _, _ = await _update(app, table, Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(),
                                                            items=first))
            await pilot.pause()
            table.select_key("100")
            await pilot.pause()
            once, _, _ = await _update(app, table, Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(),
                                                            items=jobs(n, 1)))
            await pilot.pause()
            app.frames.clear()
            row = table.cursor_row
            t0 = time.perf_counter()
            app.post_message(events.Key("pagedown", None))
            page = await _until(app, lambda _s, r, before=row: r > before) - t0
            table.select_key("100")
            await pilot.pause()
            figures[n] = {"first_fill_ms": 1000 * fill, "changed_ms": 1000 * once, "page_down_ms": 1000 * page}
            if echo:
                print(f"{n:>6} rows: first fill until the frame {1000 * fill:6.0f} ms; 1% changed {1000 * once:5.1f} ms; "
                      f"page down {1000 * page:5.1f} ms")
            generation = 1  # what the table shows now (the 1% update above)
            for label, suffix in (("unchanged jobs kept, as the SLURM reader hands them", ""),
                                  ("every item a new object", "_fresh")):
                walls, cpus, stalls = [], [], []
                shown = table.last_snapshot.items if table.last_snapshot is not None else {}
                for _ in range(REPEATS):
                    generation = 1 - generation  # the 1% alternate between two states
                    items = jobs(n, generation)
                    if not suffix:
                        items = kept(dict(shown), items)
                    snap = Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(), items=items)
                    wall, cpu, stall = await _update(app, table, snap)
                    shown = snap.items
                    walls.append(wall)
                    cpus.append(cpu)
                    stalls.append(stall)
                    await pilot.pause()
                figures[n].update({f"update_frame{suffix}_ms": 1000 * statistics.median(walls),
                                   f"update_cpu{suffix}_ms": 1000 * statistics.median(cpus),
                                   f"loop_stall{suffix}_ms": 1000 * statistics.median(stalls)})
                if echo:
                    print(f"{n:>6} rows, 1% changed ({label}), median of {REPEATS}: until the frame "
                          f"{1000 * statistics.median(walls):5.1f} ms, CPU {1000 * statistics.median(cpus):5.1f} ms, "
                          f"longest loop stall {1000 * statistics.median(stalls):5.1f} ms")
    return figures


if __name__ == "__main__":
    asyncio.run(measure())
