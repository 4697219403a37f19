"""Big tables (screens/source_table.py, THREAD_ROWS items and up): rows compared in a worker
thread, the newest snapshot applied after a running update, filter and cursor kept, and the
same rows as a table updated at once. The queue is the real parsed one of test_source_table;
THREAD_ROWS is lowered so it counts as big."""

from __future__ import annotations

import asyncio
import threading

from textual.app import App

from cockpit.snapshot import Snapshot, Status
from screens import source_table
from screens.source_table import SourceTable, diff_rows
from tests.screens.test_source_table import NOW, queue_snapshot


class Tables(App):
    def __init__(self) -> None:
        super().__init__()
        self.filtered: list[int] = []  # rows shown, each time the table said its filter changed

    def compose(self):
        yield SourceTable("slurm", id="big")

    def on_source_table_filtered(self, event: SourceTable.Filtered) -> None:
        self.filtered.append(event.table.shown_count)


def variant(snap: Snapshot, **changes) -> Snapshot:
    """The snapshot with fresh item objects (as every refresh brings), some fields changed."""
    jobs = {k: j.model_copy(update=changes.get(k, {})) for k, j in snap.items.items()}
    return Snapshot("slurm", Status.OK, NOW, items=jobs, sections=snap.sections)


def inline_rows(snap: Snapshot, monkeypatch, filter_text: str = "") -> tuple[list[str], dict]:
    """What a table updated at once (no thread) shows for `snap`."""
    table = SourceTable("slurm")
    monkeypatch.setattr(source_table, "THREAD_ROWS", 10**9)
    table.apply(snap)
    if filter_text:
        table.set_filter(filter_text)
    monkeypatch.setattr(source_table, "THREAD_ROWS", 5)
    return list(table.keys), dict(table.cells)


async def settle(pilot, table: SourceTable, snap: Snapshot) -> None:
    for _ in range(100):
        await pilot.pause(0.01)
        if table.shown_snapshot is snap and not table._diffing:
            return
    raise AssertionError("the table never showed the snapshot")


async def test_rows_are_compared_in_a_worker_thread_and_end_as_an_inline_update(monkeypatch) -> None:
    monkeypatch.setattr(source_table, "THREAD_ROWS", 5)
    threads: list[str] = []
    real = source_table.diff_rows

    def recording(*args):
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(source_table, "diff_rows", recording)
    first = queue_snapshot()
    key = next(iter(first.items))
    second = variant(first, **{key: {"time_used_s": 10**6, "state": "RUNNING"}})
    app = Tables()
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        table.apply(first)
        assert table.shown_snapshot is None  # not yet: the worker compares
        await settle(pilot, table, first)
        table.apply(second)
        assert table.shown_snapshot is first
        await settle(pilot, table, second)
        assert threads and all(name.startswith("cockpit-table-diff") for name in threads)
        keys, cells = inline_rows(second, monkeypatch)
        assert table.keys == keys and table.cells == cells
        assert table.cells[key][[c.title for c in table.columns_spec].index("TIME")] == "11-13:46:40"


async def test_snapshots_during_an_update_wait_and_only_the_newest_is_applied(monkeypatch) -> None:
    monkeypatch.setattr(source_table, "THREAD_ROWS", 5)
    started, release = threading.Event(), threading.Event()
    seen: list[int] = []
    real = source_table.diff_rows

    def slow(old, old_items, items, make_row):
        seen.append(len(items))
        started.set()
        release.wait(10)
        return real(old, old_items, items, make_row)

    monkeypatch.setattr(source_table, "diff_rows", slow)
    first = queue_snapshot()
    keys = list(first.items)
    app = Tables()
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        table.apply(first)
        assert await asyncio.to_thread(started.wait, 10)
        middle = Snapshot("slurm", Status.OK, NOW, items={k: first.items[k] for k in keys[:-1]})
        newest = Snapshot("slurm", Status.OK, NOW, items={k: first.items[k] for k in keys[:-2]})
        table.apply(middle)
        table.apply(newest)
        assert table.last_snapshot is newest and table.shown_snapshot is None
        release.set()
        await settle(pilot, table, newest)
        assert seen == [len(keys), len(keys) - 2]  # the middle one was never compared
        assert sorted(table.keys) == sorted(keys[:-2]) and keys[-1] not in table.cells


async def test_filter_and_cursor_survive_threaded_updates(monkeypatch) -> None:
    monkeypatch.setattr(source_table, "THREAD_ROWS", 5)
    first = queue_snapshot()
    app = Tables()
    async with app.run_test(size=(220, 30)) as pilot:
        table = app.query_one(SourceTable)
        table.apply(first)
        await settle(pilot, table, first)
        assert table.set_filter("state:PD") is None
        await settle(pilot, table, first)
        pending = {k for k, j in first.items.items() if j.state == "PENDING"}
        assert set(table.keys) == pending and table.shown_count == len(pending)
        await pilot.pause()
        assert app.filtered and app.filtered[-1] == len(pending)  # the count is told once the rows are filtered
        target = table.keys[len(table.keys) // 2]
        assert table.select_key(target)
        # A refresh in which another pending job starts: it leaves the view, the cursor stays put.
        other = next(k for k in table.keys if k != target)
        second = variant(first, **{other: {"state": "RUNNING"}})
        table.apply(second)
        await settle(pilot, table, second)
        assert other not in table.keys and table.selected_key() == target
        keys, cells = inline_rows(second, monkeypatch, "state:PD")
        assert table.keys == keys


async def test_diff_rows_finds_changed_added_and_gone_keys_either_way() -> None:
    app = Tables()
    async with app.run_test(size=(220, 30)):
        snap = queue_snapshot()
        table = app.query_one(SourceTable)
        table.apply(snap)
        make_row = table._row_maker()
        keys = list(snap.items)
        changed_key, gone_key = keys[0], keys[1]
        items = {k: j.model_copy() for k, j in snap.items.items() if k != gone_key}  # fresh, equal objects
        items[changed_key] = items[changed_key].model_copy(update={"name": "renamed"})
        added = snap.items[keys[2]].model_copy(update={"job_id": 999_999, "display_id": "999999"})
        items[added.key()] = added
        fast = diff_rows(table._rows, table._rows_items, items, make_row)
        # Mixed item types take the one-by-one path: same answer.
        mixed = {**items, "odd": ("not", "a", "job")}
        slow = diff_rows(table._rows, table._rows_items, mixed, lambda item: make_row(item) if item != mixed["odd"]
                         else source_table._Row(item, ("odd",), None))
        for diff in (fast, slow):
            assert set(diff.changed) - {"odd"} == {changed_key, added.key()}
            assert diff.gone == [gone_key]
            assert diff.rows[keys[3]] is table._rows[keys[3]]  # unchanged: the same row, cells not redone
            assert diff.rows[changed_key].cells[[c.title for c in table.columns_spec].index("NAME")] == "renamed"
        assert list(fast.rows) == list(items)  # the snapshot's order


async def test_diff_rows_compares_every_slice_and_keeps_the_new_order(monkeypatch) -> None:
    """Items are compared COMPARE_SLICE at a time: changes in every slice are found; the rows
    follow the new snapshot's order, also when only that order changed."""
    monkeypatch.setattr(source_table, "COMPARE_SLICE", 2)
    app = Tables()
    async with app.run_test(size=(220, 30)):
        snap = queue_snapshot()
        table = app.query_one(SourceTable)
        table.apply(snap)
        make_row = table._row_maker()
        keys = list(snap.items)
        assert len(keys) >= 5
        renamed = {keys[0], keys[3], keys[-1]}  # in the first, second and last slice
        items = {k: j.model_copy(update={"name": "renamed"} if k in renamed else {}) for k, j in snap.items.items()}
        diff = diff_rows(table._rows, table._rows_items, items, make_row)
        assert set(diff.changed) == renamed and diff.gone == []
        assert list(diff.rows) == keys
        backwards = {k: snap.items[k].model_copy() for k in reversed(keys)}
        diff = diff_rows(table._rows, table._rows_items, backwards, make_row)
        assert diff.changed == [] and list(diff.rows) == list(reversed(keys))


async def test_source_items_are_a_dict_of_the_snapshot_items() -> None:
    """The read-only view a snapshot holds is copied to a plain dict equal to it."""
    snap = queue_snapshot()
    items = SourceTable("slurm")._source_items(snap)
    assert type(items) is dict and items == dict(snap.items)
    assert all(items[k] is snap.items[k] for k in snap.items)
