"""The pane table (screens/source_table.py) on a real parsed queue: value sort with an arrow and
header clicks, state colours, the filter grammar with counts, and columns hidden by priority."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual.app import App

from backends.slurm.parse import parse_jobs, parse_nodes
from cockpit.snapshot import FetchResult, Snapshot, Status
from screens.pane import status_text
from screens.source_table import SourceTable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"
NOW = datetime.fromtimestamp(1795368826, tz=timezone.utc)


def queue_snapshot() -> Snapshot:
    jobs = []
    for version in ("v0.0.38", "v0.0.41"):
        jobs += parse_jobs(json.loads((FIXTURES / version / "squeue.json").read_text()), NOW)
    # Ids as a lab shows them after a while: 100+ beside single digits, an array split in tasks.
    jobs.sort(key=lambda j: -j.job_id)  # the snapshot's own order is not the queue order
    nodes = parse_nodes(json.loads((FIXTURES / "v0.0.38" / "sinfo.json").read_text()))
    result = FetchResult.of(jobs, nodes=nodes)
    return Snapshot("slurm", Status.OK, NOW, items=result.items, sections=result.sections)


class TableApp(App):
    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap

    def compose(self):
        yield SourceTable("slurm", id="t")

    def on_mount(self) -> None:
        self.query_one(SourceTable).apply(self.snap)


def shown_ids(table: SourceTable) -> list[str]:
    return [table.cells[k][0] for k in table.keys]


def column(table: SourceTable, title: str) -> int:
    return [c.title for c in table.columns_spec].index(title)


def pane_app(snap: Snapshot) -> App:
    """An app of one SLURM pane showing `snap`."""
    from screens.pane import SourcePane

    class PaneApp(App):
        def compose(self):
            yield SourcePane("slurm", "SLURM queue", [("slurm", None)])

        def on_mount(self) -> None:
            self.query_one(SourcePane).show(snap)

    return PaneApp()


async def test_queue_sorts_by_value_with_an_arrow_and_header_clicks() -> None:
    app = TableApp(queue_snapshot())
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        ids = shown_ids(table)
        # Default: job id order, numeric, array tasks beside their job, 101 after 7.
        assert ids[:5] == ["1", "2", "3_0", "3_1", "3_[2-3%2]"] and ids.index("7") < ids.index("101")
        assert table._header(column(table, "JOBID")) == "JOBID ▲"
        # TIME sorts by seconds (1:39 after 0:01 and before 1:00:00), not as text.
        table.sort_by(column(table, "TIME"))
        times = [table.items[k].time_used_s for k in table.keys]
        assert times == sorted(times)
        table.sort_by(column(table, "TIME"))
        assert [table.items[k].time_used_s for k in table.keys] == sorted(times, reverse=True)
        assert table._header(column(table, "TIME")) == "TIME ▼"
        # LIMIT: UNLIMITED is the largest, 365 days next, never sorted as the text "365-00:00:00".
        table.sort_by(column(table, "LIMIT"))
        limits = [table.cells[k][column(table, "LIMIT")] for k in table.keys]
        assert limits[0] == "10:00" and limits[-1] == "UNLIMITED" and limits.index("365-00:00:00") > limits.index("1:00:00")
        # Clicking the GPUS header sorts by GPUs.
        gpus = column(table, "GPUS")
        x = 1 + sum(table._column_width(i) + 2 for i in table.shown[: table.shown.index(gpus)])
        await pilot.click(SourceTable, offset=(x + 1, 0))
        await pilot.pause()
        values = [table.items[k].gpus for k in table.keys]
        assert table.sort_state() == (gpus, False) and values == sorted(values)


async def test_state_colours_reach_the_drawn_line() -> None:
    app = TableApp(queue_snapshot())
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        styles = {table.items[k].state: table.row_styles.get(k) for k in table.keys}
        assert styles["FAILED"] == "red" and styles["RUNNING"] == "green" and styles["PENDING"] == "yellow"
        failed_row = next(i for i, k in enumerate(table.keys) if table.items[k].state == "FAILED")
        table.move_cursor(0 if failed_row else 1)
        await pilot.pause()
        strip = table.render_line(failed_row + 1)
        colours = {seg.style.color.name for seg in strip if seg.style and seg.style.color}
        assert "red" in colours


async def test_filter_counts_shown_of_total_and_clears() -> None:
    snap = queue_snapshot()
    app = TableApp(snap)
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        assert table.set_filter("gpus>0 state:R") is None
        await pilot.pause()
        assert table.shown_count == len([j for j in snap.items.values() if j.gpus > 0 and j.state == "RUNNING"])
        line = status_text(snap, table).plain
        assert f"ok, {table.shown_count} of {len(snap.items)} items," in line and "[filter: gpus>0 state:R]" in line
        error = table.set_filter("gpus>lots")
        assert error == "'gpus>lots': 'lots' is not a number" and table.filter_text == "gpus>0 state:R"
        assert table.set_filter("") is None
        assert table.shown_count == len(snap.items) and "filter" not in status_text(snap, table).plain
        assert table.set_filter("reason:held") is None  # the reason's plain words are searchable
        assert shown_ids(table) == ["7"]


@pytest.mark.parametrize("width", [48, 80, 100])
async def test_narrow_tables_keep_id_state_and_reason(width) -> None:
    app = TableApp(queue_snapshot())
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(SourceTable)
        shown = [table.titles[i] for i in table.shown]
        assert {"JOBID", "STATE", "NODELIST(REASON)"} <= set(shown)
        assert "ACCOUNT" not in shown and "PRIO" not in shown
        held = table.keys.index(next(k for k in table.keys if table.items[k].reason == "JobHeldUser"))
        line = "".join(seg.text for seg in table.render_line(held + 1))
        assert "(JobHeldUser) held" in line
        if width >= 80:
            assert "(JobHeldUser) held by its user" in line


async def test_updates_by_key_keep_order_cells_and_filters_right() -> None:
    """Partial updates (the cached path) end where a fresh table would: same rows, same order."""
    snap = queue_snapshot()
    app = TableApp(snap)
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        table.sort_by(column(table, "TIME"))
        assert table.set_filter("state:R") is None
        assert table.set_filter("state:PD") is None  # as many rows as before, other rows: re-sorted
        pending = [k for k in table.keys]
        assert all(table.items[k].state == "PENDING" for k in pending)
        # One job moves on: its TIME grows past every other; it must move to the end, not stay put.
        jobs = dict(snap.items)
        key = pending[0]
        jobs[key] = jobs[key].model_copy(update={"time_used_s": 10**6})
        table.apply(Snapshot("slurm", Status.OK, NOW, items=jobs, sections=snap.sections))
        await pilot.pause()
        assert table.keys[-1] == key and table.cells[key][column(table, "TIME")] == "11-13:46:40"
        # Clearing the filter shows everything, sorted by TIME, with the moved job last.
        assert table.set_filter("") is None
        times = [table.items[k].time_used_s for k in table.keys]
        assert len(table.keys) == len(jobs) and times == sorted(times) and table.keys[-1] == key
        # A job that leaves the queue leaves the table.
        del jobs[key]
        table.apply(Snapshot("slurm", Status.OK, NOW, items=jobs, sections=snap.sections))
        assert key not in table.keys and key not in table.cells and len(table.keys) == len(jobs)


async def test_filter_hint_lists_the_tables_fields() -> None:
    app = TableApp(queue_snapshot())
    async with app.run_test(size=(220, 30)):
        hint = app.query_one(SourceTable).filter_hint()
        assert "field~regex" in hint and "user/u" in hint and "state/s" in hint and "gpus" in hint


async def test_pane_status_counts_and_forgets_the_filter() -> None:
    from textual.widgets import Static

    from screens.pane import SourcePane

    snap = queue_snapshot()

    app = pane_app(snap)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one(SourcePane)
        table = pane.table("slurm")
        status = pane.query_one("#status-slurm", Static)
        assert table.set_filter("state:PD") is None
        await pilot.pause()
        pending = sum(1 for j in snap.items.values() if j.state == "PENDING")
        assert f"ok, {pending} of {len(snap.items)} items" in str(status.render())
        assert "[filter: state:PD]" in str(status.render())
        assert table.set_filter("") is None
        await pilot.pause()
        assert "filter" not in str(status.render()) and f"ok, {len(snap.items)} items" in str(status.render())


async def test_a_fetch_with_the_same_data_keeps_the_rows_without_comparing_them(monkeypatch) -> None:
    from screens import source_table

    snap = queue_snapshot()
    app = TableApp(snap)
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        table.sort_by(column(table, "TIME"))
        order = list(table.keys)
        compared: list[int] = []
        real = source_table.diff_rows

        def counting(old, old_items, items, make_row):
            compared.append(len(items))
            return real(old, old_items, items, make_row)

        monkeypatch.setattr(source_table, "diff_rows", counting)
        # The hub passes the same items and sections on when a fetch found nothing new.
        again = snap.evolve(fetched_at=NOW + timedelta(seconds=5), version=snap.version + 1)
        table.apply(again)
        assert compared == [] and table.last_snapshot is again and table.shown_snapshot is again
        assert list(table.keys) == order
        # A pending filter or sort change is still applied to the same data.
        assert table.set_filter("state:R") is None
        assert compared == [len(snap.items)] and table.shown_count < len(snap.items)
        table.sort_by(column(table, "JOBID"))
        await pilot.pause()
        assert len(compared) == 2 and table.sort_state() == (column(table, "JOBID"), False)
        # New objects with the same values (a fetch before sharing) are compared as before.
        table.apply(Snapshot("slurm", Status.OK, NOW, items=dict(snap.items), sections=dict(snap.sections)))
        assert len(compared) == 3


async def test_pane_shows_a_fetch_with_the_same_data_by_its_status_line_only(monkeypatch) -> None:
    from textual.widgets import Static

    from cockpit.snapshot import utcnow
    from screens import pane as pane_module
    from screens.pane import SourcePane

    snap = queue_snapshot()  # fetched at NOW, days before the clock this test runs on

    app = pane_app(snap)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one(SourcePane)
        status = pane.query_one("#status-slurm", Static)
        assert "updated just now" not in str(status.render())
        looked_up: list[str] = []
        real = pane_module.render_module
        monkeypatch.setattr(pane_module, "render_module", lambda source: looked_up.append(source) or real(source))
        fresh = snap.evolve(fetched_at=utcnow(), version=snap.version + 1)  # the hub: same data, fetched now
        pane.show(fresh)
        await pilot.pause()
        assert "updated just now" in str(status.render()) and pane.table("slurm").shown_snapshot is fresh
        assert looked_up == []  # no summary, no titles: nothing but the status line was redone
        # The same rows kept through an outage are not the same view: dimmed, with the error.
        failing = fresh.evolve(status=Status.ERROR, error="slurmctld unreachable", stale=True, error_since=utcnow())
        pane.show(failing)
        await pilot.pause()
        assert looked_up == ["slurm"] and pane.table("slurm").has_class("stale")
        assert "slurmctld unreachable" in str(status.render())


class _Counted:
    """An item that counts how often it is compared by value."""

    compared = 0

    def __init__(self, key: str, value: int) -> None:
        self.k, self.value = key, value

    def key(self) -> str:
        return self.k

    def __eq__(self, other: object) -> bool:
        _Counted.compared += 1
        return isinstance(other, _Counted) and (self.k, self.value) == (other.k, other.value)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


def test_diff_rows_knows_the_same_object_unchanged_without_comparing_it() -> None:
    from screens.source_table import _Row, diff_rows

    old_items = {str(i): _Counted(str(i), i) for i in range(5000)}
    old_rows = {k: _Row(v, (str(v.value),), None) for k, v in old_items.items()}
    # As the SLURM queue reader hands a refresh: unchanged items are the very objects, 1% are new.
    new_items = {k: (_Counted(k, v.value + 1) if int(k) % 100 == 0 else v) for k, v in old_items.items()}
    new_items["5000"] = _Counted("5000", 5000)
    _Counted.compared = 0
    diff = diff_rows(old_rows, old_items, new_items, lambda item: _Row(item, (str(item.value),), None))
    assert sorted(diff.changed, key=int) == [str(i) for i in range(0, 5000, 100)] + ["5000"]
    assert _Counted.compared <= 51  # only the new objects were compared by value, not all 5,001
    assert all(diff.rows[k] is old_rows[k] for k in old_items if int(k) % 100)
    # Fresh but equal objects are still compared by value and kept.
    fresh = {k: _Counted(k, v.value) for k, v in old_items.items()}
    _Counted.compared = 0
    again = diff_rows(old_rows, old_items, fresh, lambda item: _Row(item, (str(item.value),), None))
    assert again.changed == [] and _Counted.compared == 5000
