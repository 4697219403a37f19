"""Tables at scale: a SourceTable (virtual: draws only visible rows) fed 1,000 and 10,000 SLURM
jobs, then the same with 1% of rows changed, and a cursor move. Prints milliseconds.

The 1% update is also repeated (medians of 7): wall time until the frame, and the CPU time of the
table's own update (process time, which a loaded machine disturbs less than wall time).

    .venv/bin/python -m benchmarks.table_scale
"""

from __future__ import annotations

import asyncio
import statistics
import time

from textual.app import App

from backends.slurm.models import Job
from cockpit.snapshot import Snapshot, Status, utcnow
from screens.pane import SourceTable


def jobs(n: int, generation: int = 0) -> dict[str, Job]:
    return {str(i): Job(job_id=i, display_id=str(i), name=f"job{i}", user="alice", partition="gpu", gpus=i % 8,
                        state="PENDING" if (i + generation) % 100 == 0 else "RUNNING",
                        time_used_s=i + generation * (i % 100 == 0)) for i in range(1, n + 1)}


class Bench(App[None]):
    def compose(self):
        yield SourceTable("slurm", id="t")


async def measure(sizes: tuple[int, ...] = (1_000, 10_000), echo: bool = True) -> dict[int, dict[str, float]]:
    """Per table size (rows): first fill, one 1% change and a page down, each until the frame, and
    the median of 7 repeated 1% changes (wall until the frame; the table update's CPU), in ms."""
    figures: dict[int, dict[str, float]] = {}
    app = Bench()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(SourceTable)
        for n in sizes:
            first, changed = jobs(n), jobs(n, 1)
            t0 = time.perf_counter()
            table.apply(Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(), items=first))
            await pilot.pause()
            t1 = time.perf_counter()
            table.apply(Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(), items=changed))
            await pilot.pause()
            t2 = time.perf_counter()
            await pilot.press("pagedown")
            await pilot.pause()
            t3 = time.perf_counter()
            figures[n] = {"first_fill_ms": 1000 * (t1 - t0), "changed_ms": 1000 * (t2 - t1),
                          "page_down_ms": 1000 * (t3 - t2)}
            if echo:
                print(f"{n:>6} rows: first fill + frame {1000 * (t1 - t0):6.0f} ms; 1% changed + frame "
                      f"{1000 * (t2 - t1):5.0f} ms; page down + frame {1000 * (t3 - t2):4.0f} ms")
            walls, cpus = [], []
            for rep in range(7):
                snap = Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(),
                                items=first if rep % 2 == 0 else changed)
                w0, c0 = time.perf_counter(), time.process_time()
                table.apply(snap)
                cpus.append(time.process_time() - c0)
                await pilot.pause()
                walls.append(time.perf_counter() - w0)
            figures[n].update(update_frame_ms=1000 * statistics.median(walls),
                              update_cpu_ms=1000 * statistics.median(cpus))
            if echo:
                print(f"{n:>6} rows, 1% changed, median of 7: until the frame {1000 * statistics.median(walls):5.1f} ms, "
                      f"table update CPU {1000 * statistics.median(cpus):5.1f} ms")


    return figures


if __name__ == "__main__":
    asyncio.run(measure())
