"""One source's rows (its items or one snapshot section) as a virtual table, driven by the pane spec
(screens.render.TableSpec): cells, state colours, filter (cockpit.filtering's one grammar) and sort
by value. An update recomputes cells, colour and sort key only for items that changed, re-sorts only
when a sort key or the row set changed, and draws only what is on screen.

Finding what changed means comparing every item with the one shown (10,000 SLURM jobs: about
10 ms, fresh objects every refresh). From THREAD_ROWS items on, that comparison and the cells of
the changed rows are done in a worker thread, one update at a time per table (snapshots arriving
meanwhile: the newest is applied next); the event loop only applies the changes."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import compress, repeat
from operator import attrgetter, is_not, ne
from types import MappingProxyType
from typing import Any, Callable, Mapping, cast

from textual.message import Message

from cockpit.filtering import FilterError, Query, compile_filter
from cockpit.snapshot import Snapshot, is_model
from cockpit.values import MISSING
from screens.render import Column, TableSpec, render_module, section_items, table_spec
from screens.virtual_table import VirtualTable

MAX_COLUMN_WIDTH = 40
THREAD_ROWS = 2_000  # from this many items, rows are compared in a worker thread
COMPARE_SLICE = 2_000  # items compared in one go (in C, holding the GIL: about 1.5 ms here)

_diff_thread: ThreadPoolExecutor | None = None  # one for every table: with the GIL, more gain nothing


@dataclass
class _Row:
    item: Any
    cells: tuple[str, ...]
    style: str | None
    sort_key: Any = None  # for the current sort column; None: not computed yet
    passes: bool | None = None  # the current filter's verdict; None: not computed yet


@dataclass
class _Diff:
    rows: dict[str, _Row]  # every item's row: the old one where the item is unchanged
    changed: list[str]  # keys of new or changed items (their rows are new)
    gone: list[str]  # keys no longer there


class _Absent:
    """Stands in for the old item of a new key: its fields equal no item's."""

    def __init__(self) -> None:
        self.absent = self


_ABSENT = _Absent()
_fields = attrgetter("__dict__")


def diff_rows(old: Mapping[str, _Row], old_items: Mapping[str, Any], items: Mapping[str, Any],
              make_row: Callable[[Any], _Row]) -> _Diff:
    """The rows for `items`, reusing `old` ones (made from `old_items`) whose item did not change.
    Reads its arguments only, so it may run in a worker thread while the loop keeps drawing.

    Frozen pydantic snapshot items compare by their field values (pydantic's own __eq__ costs
    several times more). With one item type on both sides (the usual case) the comparison runs
    in C (map/compress, COMPARE_SLICE items at a time), in the new items' order, which is about
    the order the old ones were made in: 10,000 SLURM jobs in about 3 ms here, against 7 ms for
    the same test in a Python loop, and 22 ms when walked in hash order (memory locality); 6 to 8
    ms when other work is using the machine's two cores."""
    keys = list(items)
    kinds = set(map(type, items.values())) | set(map(type, old_items.values()))
    if len(kinds) == 1 and len(old) == len(old_items):
        values = list(items.values())
        fields = _fields if is_model(next(iter(kinds))) else None
        changed: list[str] = []
        # In slices: a C loop never lets go of the GIL, so the event loop can only run between them.
        for start in range(0, len(keys), COMPARE_SLICE):
            part = keys[start:start + COMPARE_SLICE]
            was = list(map(old_items.get, part, repeat(_ABSENT)))
            now = values[start:start + COMPARE_SLICE]
            # The very same object is the same row: a source that keeps its unchanged items (the
            # SLURM queue reader, a watch's pod index) costs one pointer comparison a row. The
            # others are compared by value.
            other = list(compress(range(len(part)), map(is_not, was, now)))
            if len(other) < len(part):
                part, was, now = (list(map(seq.__getitem__, other)) for seq in (part, was, now))
            differs = map(ne, map(fields, was), map(fields, now)) if fields else map(ne, was, now)
            changed += compress(part, differs)
        if keys == list(old):  # the same keys in the same order (the usual refresh): a C-level copy
            rows = old.copy() if isinstance(old, dict) else dict(old)
        else:
            rows = cast(dict[str, _Row], dict(zip(keys, map(old.get, keys))))  # None for new keys, until just below
        added = 0
        for key in changed:
            added += rows[key] is None
            rows[key] = make_row(items[key])
    else:  # mixed item types (or a first fill): compare one by one
        rows, changed, added = {}, [], 0
        get = old.get
        for key, item in items.items():
            row = get(key)
            if row is None:
                added += 1
            else:
                was_item = row.item
                if was_item is item or (type(was_item) is type(item) and (
                        _fields(was_item) == _fields(item) if is_model(type(item)) else was_item == item)):
                    rows[key] = row
                    continue
            rows[key] = make_row(item)
            changed.append(key)
    gone = [key for key in old if key not in rows] if len(old) > len(rows) - added else []
    return _Diff(rows, changed, gone)


def _executor() -> ThreadPoolExecutor:
    global _diff_thread
    if _diff_thread is None:
        _diff_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-table-diff")
    return _diff_thread


def _release(*_objects: Any) -> None:
    """Run in the worker thread: the objects (and the items only they still held) are freed
    there when the call returns. Freeing 10,000 jobs takes about 4 ms."""


class SourceTable(VirtualTable):
    class Filtered(Message):
        """The filter changed (set or cleared): the pane redraws its "N of M shown" line."""

        def __init__(self, table: "SourceTable") -> None:
            super().__init__()
            self.table = table

    def __init__(self, source: str, section: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.section = section
        self.spec: TableSpec | None = None
        self.columns_spec: list[Column] = []
        self.items: dict[str, Any] = {}  # the rows shown (after the filter), by key
        self.total = 0  # rows before the filter
        self.filter_text = ""
        self._query: Query | None = None
        self._sort: tuple[int, bool] | None = None  # (column index, descending) the user picked
        self._rows: dict[str, _Row] = {}
        self._rows_items: dict[str, Any] = {}  # the items self._rows were made from
        self._cells: dict[str, tuple[str, ...]] = {}  # every row's cells (shown or not), by key
        self._row_styles: dict[str, str] = {}
        self._order: list[str] = []
        self._position: dict[str, int] = {}  # see _positions()
        self._position_of: list[str] | None = None
        self._order_sort: tuple[int, bool] | None = None
        self._refilter = False  # the filter changed: every row's verdict is to be asked again
        self._diffing = False  # an update is being compared in the worker thread
        self._to_release: list[Any] = []  # old rows and items, freed off the loop after the next frame
        self._next: Snapshot | None = None  # the newest snapshot that came in meanwhile
        self._widths: list[int] = []
        self.last_snapshot: Snapshot | None = None  # the newest snapshot given to apply()
        self.shown_snapshot: Snapshot | None = None  # the snapshot whose rows are shown now

    @property
    def shown_count(self) -> int:
        return len(self.items)

    # -- filter and sort ----------------------------------------------------------------------
    def set_filter(self, text: str) -> str | None:
        """Apply a filter ('' clears it); returns the error message of a bad one (the old filter stays)."""
        text = text.strip()
        if text:
            if self.spec is None and self.last_snapshot is not None:
                self._ensure_columns(self.last_snapshot)
            try:
                query = compile_filter(text, self._fields())
            except FilterError as exc:
                return str(exc)
        else:
            query = None
        self.filter_text = text
        self._query = query
        for row in self._rows.values():
            row.passes = None
        self._refilter = True
        if self.last_snapshot is not None:
            self.apply(self.last_snapshot)  # says Filtered once the rows are filtered
        else:
            self.post_message(self.Filtered(self))
        return None

    def _fields(self) -> Any:
        if self.spec is not None:
            return self.spec.fields()
        return table_spec(self.source, self.section).fields()

    def filter_hint(self) -> str:
        """What the filter prompt can say for this table: its fields and the grammar."""
        fields = self._fields()
        names = ", ".join(f.name + (f"/{'/'.join(f.aliases)}" if f.aliases else "") for f in fields.fields)
        extra = f", {fields.dynamic_help}" if fields.dynamic_help else ""
        return f"text, field:a,b, field~regex, field>N, !term; fields: {names}{extra}"

    def sort_by(self, column: int) -> None:
        """Sort by a column (index into the full column list); again on the same column reverses."""
        current = self.sort_state()
        descending = bool(current and current[0] == column and not current[1])
        self._sort = (column, descending)
        if self.last_snapshot is not None:
            self.apply(self.last_snapshot)

    def sort_by_cursor_column(self) -> None:
        self.sort_by(self.cursor_column_index())

    def sort_state(self) -> tuple[int, bool] | None:
        """(column index, descending) in force: the user's pick, else the spec's default."""
        if self._sort is not None and self._sort[0] < len(self.columns_spec):
            return self._sort
        default = self.spec.default_sort if self.spec is not None else None
        titles = [c.title for c in self.columns_spec]
        if default in titles:
            return (titles.index(default), False)
        return None

    def on_virtual_table_header_selected(self, event: VirtualTable.HeaderSelected) -> None:
        if event.table is self:
            event.stop()
            self.sort_by(event.column)

    # -- updates ------------------------------------------------------------------------------
    def _source_items(self, snap: Snapshot) -> dict[str, Any]:
        if self.section is not None:
            return section_items(snap.sections.get(self.section))
        items = snap.items
        # A snapshot's items are a read-only view of a dict: its copy() is the dict's C-level copy,
        # where dict(view) looks every key up again (10,000 items: 0.05 against 0.9 ms here).
        return items.copy() if isinstance(items, (dict, MappingProxyType)) else dict(items)

    def _ensure_columns(self, snap: Snapshot, items: dict[str, Any] | None = None) -> None:
        raw = items if items is not None else self._source_items(snap)
        spec = table_spec(self.source, self.section, snap, list(raw.values()))
        same = len(spec.columns) == len(self.columns_spec) and all(
            a is b for a, b in zip(spec.columns, self.columns_spec))
        self.spec = spec
        self._bind_row_keys()
        if not same:
            titles_changed = [c.title for c in spec.columns] != [c.title for c in self.columns_spec]
            self.columns_spec = spec.columns
            self._rows, self._rows_items, self._cells, self._row_styles = {}, {}, {}, {}
            self._widths = []
            self._order_sort = None
            if titles_changed and self._sort is not None:
                self._sort = None
            if self.filter_text:  # fields may follow the columns: recompile (keeps working or clears)
                try:
                    self._query = compile_filter(self.filter_text, spec.fields())
                except FilterError:
                    self._query, self.filter_text = None, ""

    def _row_maker(self) -> Callable[[Any], _Row]:
        """Builds a row from an item with the columns and colours in force now (safe in a thread:
        it holds them, not the table)."""
        columns = tuple(self.columns_spec)
        row_style = self.spec.row_style if self.spec is not None else None

        def make_row(item: Any) -> _Row:
            style = row_style.style(item) if row_style else None
            return _Row(item, tuple(c.cell(item) for c in columns), style)

        return make_row

    def apply(self, snap: Snapshot) -> None:
        """Show a snapshot. Small tables are updated at once; from THREAD_ROWS items the rows are
        compared in a worker thread and the table changes when that is done (see the module)."""
        if self._shows_already(snap):
            # A fetch that found the same data (the hub passed the same items and sections on):
            # the rows, their order and the columns stay; only the snapshot held is the newer one.
            self.last_snapshot = self.shown_snapshot = snap
            return
        retired, self.last_snapshot = self.last_snapshot, snap
        release = self._diffing or len(self._rows) >= THREAD_ROWS
        if self._diffing:  # the running update applies the newest snapshot when it is done
            self._next = snap
        else:
            items = self._source_items(snap)
            self._ensure_columns(snap, items)
            make_row = self._row_maker()
            if len(items) < THREAD_ROWS or not self.is_mounted:
                self._commit(snap, items, diff_rows(self._rows, self._rows_items, items, make_row))
            else:
                self._diffing = True
                self.run_worker(self._diff_in_thread(snap, items, self._start_diff(items, make_row)),
                                group="table-diff", exclusive=False)
        if release:
            # The table's may be the last references to the old snapshot's items: freed off the loop
            # (queued after the comparison, which it would otherwise hold up).
            _executor().submit(_release, retired)
        del retired

    def _shows_already(self, snap: Snapshot) -> bool:
        """The rows shown now are `snap`'s: its items and sections are the very objects they were
        made from, and no filter or sort change is waiting to be applied."""
        shown = self.shown_snapshot
        return (shown is not None and not self._diffing and not self._refilter and self.spec is not None
                and snap.items is shown.items and snap.sections is shown.sections
                and self.sort_state() == self._order_sort)

    def _start_diff(self, items: dict[str, Any], make_row: Callable[[Any], _Row]) -> "asyncio.Future[_Diff]":
        """Compare in the worker thread from now (not from when the awaiting task first runs)."""
        return asyncio.wrap_future(_executor().submit(diff_rows, self._rows, self._rows_items, items, make_row))

    async def _diff_in_thread(self, snap: Snapshot, items: dict[str, Any], pending: "asyncio.Future[_Diff]") -> None:
        try:
            while True:
                diff = await pending
                self._to_release += (self._rows, self._rows_items)
                self._commit(snap, items, diff)
                del diff
                # The old rows and items are freed off the loop once the frame showing the new ones is
                # drawn: freeing 10,000 jobs holds the GIL for milliseconds, which would delay that frame.
                self.call_after_refresh(self._release_retired)
                next_snap, self._next = self._next, None
                if next_snap is None:
                    return
                snap = next_snap
                items = self._source_items(snap)
                self._ensure_columns(snap, items)
                pending = self._start_diff(items, self._row_maker())
        finally:
            self._diffing = False
            self._next = None

    def _release_retired(self) -> None:
        """Hand what the table let go of to the worker thread, which frees it (see _release)."""
        if self._to_release:
            _executor().submit(_release, self._to_release)
            self._to_release = []

    def _commit(self, snap: Snapshot, items: dict[str, Any], diff: _Diff) -> None:
        """Apply a diff on the loop: work for the changed rows only, except where the filter or
        the sort column changed (every row's verdict or key is then asked again)."""
        sort = self.sort_state()
        sort_column = self.columns_spec[sort[0]] if sort is not None else None
        # 1. Rows by key: an unchanged item keeps its cells, colour, filter verdict and sort key.
        rows, changed, gone = diff.rows, diff.changed, diff.gone
        self._rows, self._rows_items = rows, items
        cells, styles = self._cells, self._row_styles
        for key in gone:
            cells.pop(key, None)
            styles.pop(key, None)
        for key in changed:
            row = rows[key]
            cells[key] = row.cells
            if row.style:
                styles[key] = row.style
            else:
                styles.pop(key, None)
        # 2. The filter, asked only for rows without a verdict (new rows, or a new filter).
        query = self._query
        refilter, self._refilter = self._refilter, False
        if query is None:
            visible = list(rows)
            for row in (rows.values() if refilter else (rows[k] for k in changed)):
                row.passes = True
            self.items = items
        else:
            visible = []
            for key, row in rows.items():
                if row.passes is None:
                    row.passes = query.matches(row.item)
                if row.passes:
                    visible.append(key)
            self.items = {k: items[k] for k in visible}
        self.total = len(items)
        # 3. Sort keys: for changed rows, or all when the sort column changed.
        if sort_column is not None:
            key_of = sort_column.sort_key
            if sort != self._order_sort:  # a different column: every key is stale
                for row in rows.values():
                    row.sort_key = key_of(row.item) if row.passes else None
            else:  # new rows, and rows a new filter lets through, have none yet
                for key in (visible if (refilter or query is not None) else changed):
                    row = rows[key]
                    if row.sort_key is None:
                        row.sort_key = key_of(row.item)
        self._order = self._ordered(visible, sort, changed, len(gone) + (1 if refilter else 0))
        self._order_sort = sort
        self._update_widths(changed)
        titles = [c.title for c in self.columns_spec]
        self.set_data(titles, self._widths, self._order, cells, keep_key=self.selected_key(),
                      row_styles=styles, priorities=[c.priority for c in self.columns_spec],
                      sort_column=sort[0] if sort else None, descending=bool(sort and sort[1]),
                      changed=changed)
        self.shown_snapshot = snap
        if refilter:
            self.post_message(self.Filtered(self))

    def _ordered(self, visible: list[str], sort: tuple[int, bool] | None, changed: list[str], removed: int) -> list[str]:
        """The shown keys in order; the previous order is reused when neither the set of rows nor
        the sort key of a changed row moved (a 1% update of 10,000 rows then costs no sort).
        `removed`: rows gone since the last order (or 1 after a new filter): sort afresh."""
        if sort is None:  # the snapshot's order; the same list object when nothing moved (cheap redraw)
            return self._order if visible == self._order else visible
        if (sort == self._order_sort and not removed and len(visible) == len(self._order)
                and self._keys_unmoved(changed)):
            return self._order
        rows = self._rows
        present = [k for k in visible if rows[k].sort_key != MISSING]
        missing = [k for k in visible if rows[k].sort_key == MISSING]  # last, in either direction
        return sorted(present, key=lambda k: rows[k].sort_key, reverse=sort[1]) + missing

    def _positions(self) -> dict[str, int]:
        """Key -> index in self._order; kept while the order is the same list (a 1% update)."""
        if self._position_of is not self._order:
            self._position, self._position_of = {k: i for i, k in enumerate(self._order)}, self._order
        return self._position

    def _keys_unmoved(self, changed: list[str]) -> bool:
        """Every changed row is already shown, with a key still between its neighbours'."""
        if not changed:
            return True
        position = self._positions() if len(changed) > 8 else None
        order, rows = self._order, self._rows
        descending = bool(self._order_sort and self._order_sort[1])
        for key in changed:
            row = rows[key]
            if not row.passes:
                return False
            try:
                i = position[key] if position is not None else order.index(key)
            except (KeyError, ValueError):
                return False
            mine = row.sort_key
            before = rows[order[i - 1]].sort_key if i > 0 else None
            after = rows[order[i + 1]].sort_key if i + 1 < len(order) else None
            try:
                if descending:
                    ok = (before is None or before >= mine) and (after is None or mine >= after)
                else:
                    ok = (before is None or before <= mine) and (after is None or mine <= after)
            except TypeError:
                return False
            if not ok:
                return False
        return True

    def _update_widths(self, changed: list[str]) -> None:
        """Column widths grow with the cells; all rows are measured only when the columns changed."""
        titles = [c.title for c in self.columns_spec]
        if len(self._widths) != len(titles):
            self._widths = [len(t) for t in titles]
            changed = list(self._rows)
        caps = [c.width or MAX_COLUMN_WIDTH for c in self.columns_spec]
        widths = self._widths
        for key in changed:
            for i, cell in enumerate(self._rows[key].cells):
                if len(cell) > widths[i] and widths[i] < caps[i]:
                    widths[i] = min(len(cell), caps[i])

    # -- row keys (shown in the footer while the table has focus) -----------------------------
    def row_keys(self) -> list[tuple[str, str, str]]:
        """(key, app action, label) of this table's rows and pane, run by the app."""
        keys: list[tuple[str, str, str]] = []
        spec = self.spec
        for key, action, label, _params in (spec.actions if spec is not None else ()):
            keys.append((key, f"app.row_action({action!r})", label))
        for key, screen, label in (spec.screens if spec is not None else ()):
            keys.append((key, f"app.row_screen({screen!r})", label))
        for key, label, screen in getattr(render_module(self.source), "PANE_SCREENS", ()):
            keys.append((key, f"app.pane_screen({screen!r})", label))
        return keys

    def _bind_row_keys(self) -> None:
        keys = self.row_keys()
        if keys == getattr(self, "_bound_keys", None):
            return
        self._bound_keys = keys
        merged = type(self)._merged_bindings
        if merged is None:
            return
        bindings = merged.copy()
        for key, action, label in keys:
            bindings.bind(key, action, footer_label(label))
        self._bindings = bindings
        self.refresh_bindings()

    # -- selection ----------------------------------------------------------------------------
    def selected_item(self) -> Any:
        key = self.selected_key()
        return self.items.get(key) if key is not None else None


def footer_label(label: str) -> str:
    """A key's label as the footer shows it: short, so every key fits. The part before a colon
    ("map: GPUs, VMs, node, run" -> "map"), else the first two words, without trailing commas."""
    head = label.split(":", 1)[0] if ":" in label else " ".join(label.split()[:2])
    return head.strip(" ,;.").lower()
