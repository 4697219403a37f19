"""benchmarks/table_scale.py measures to a frame that really shows the update: the figures come
back for a small table (inline) and one past THREAD_ROWS (worker thread), and a snapshot that
changes nothing on screen is not taken for a frame."""

from __future__ import annotations

import pytest

from benchmarks import table_scale
from cockpit.snapshot import Snapshot, Status, utcnow
from screens import source_table


async def test_figures_for_an_inline_and_a_threaded_table(monkeypatch) -> None:
    monkeypatch.setattr(table_scale, "REPEATS", 3)
    monkeypatch.setattr(source_table, "THREAD_ROWS", 250)
    figures = await table_scale.measure((200, 300), echo=False)
    for n in (200, 300):
        f = figures[n]
        # The 1% update twice: as the SLURM reader hands it (unchanged jobs kept), and every item new.
        assert set(f) == {"first_fill_ms", "changed_ms", "page_down_ms", "update_frame_ms", "update_cpu_ms",
                          "loop_stall_ms", "update_frame_fresh_ms", "update_cpu_fresh_ms", "loop_stall_fresh_ms"}
        assert all(v > 0 for v in f.values())
        for suffix in ("", "_fresh"):  # a stall inside the measured interval
            assert f[f"loop_stall{suffix}_ms"] <= f[f"update_frame{suffix}_ms"] + 5


def test_kept_hands_on_the_jobs_that_did_not_change() -> None:
    before = table_scale.jobs(300)
    after = table_scale.kept(before, table_scale.jobs(300, 1))
    same = [key for key in after if after[key] is before[key]]
    assert len(same) == 300 - 6  # jobs 100, 200, 300 and 99, 199, 299 changed state
    assert all(after[k].__dict__ != before[k].__dict__ for k in after if after[k] is not before[k])


async def test_no_frame_is_counted_for_a_change_nobody_sees() -> None:
    app = table_scale.Bench()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(table_scale.SourceTable)
        await table_scale._update(app, table, Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(),
                                                       items=table_scale.jobs(500)))
        await pilot.pause()
        same = Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(), items=table_scale.jobs(500))
        app.frames.clear()
        table.apply(same)
        with pytest.raises(RuntimeError, match="no frame"):
            await table_scale._until(app, lambda s, _r: s is same, timeout=0.5)
