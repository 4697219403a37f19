"""A pane: one or more sources, each drawn as a table updated by key, plus a status line per
source (status, data age, last error, or how to configure it)."""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from cockpit.filtering import FilterError, make_predicate
from cockpit.snapshot import Snapshot, Status
from screens.render import Column, TableSpec, section_items, table_spec
from screens.render import render_module as render_module  # re-exported for the app
from screens.status import status_line
from screens.virtual_table import VirtualTable

MAX_COLUMN_WIDTH = 40


class SourceTable(VirtualTable):
    """One source's rows (its items or one snapshot section), drawn virtually. An update
    recomputes cells only for items that changed, filters and sorts plain tuples, and draws only
    what is on screen: 10,000 rows cost a frame what 40 do."""

    def __init__(self, source: str, section: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.section = section
        self.spec: TableSpec | None = None
        self.columns_spec: list[Column] = []
        self.items: dict[str, Any] = {}  # the rows shown (after the filter), by key
        self.filter_text = ""
        self._predicate = None
        self._sort: tuple[int, bool] | None = None
        self._known: dict[str, tuple[Any, tuple[str, ...]]] = {}  # key -> (item, cells) of the last update
        self.last_snapshot: Snapshot | None = None

    # -- filter and sort ----------------------------------------------------------------------
    def set_filter(self, text: str) -> str | None:
        """Apply a filter; returns an error message for a bad one (the old filter stays)."""
        custom = self.spec.filter_items if self.spec is not None else None
        try:
            if custom is not None:
                custom([], text)  # validates the syntax
                predicate = None
            else:
                predicate = make_predicate(text) if text.strip() else None
        except (FilterError, ValueError) as exc:
            return str(exc)
        self.filter_text = text.strip()
        self._predicate = predicate
        if self.last_snapshot is not None:
            self.apply(self.last_snapshot)
        return None

    def sort_by_cursor_column(self) -> None:
        col = self.cursor_column
        reverse = bool(self._sort and self._sort[0] == col and not self._sort[1])
        self._sort = (col, reverse)
        if self.last_snapshot is not None:
            self.apply(self.last_snapshot)

    @staticmethod
    def _natural(value: str) -> tuple[int, float, str]:
        try:
            return (0, float(value.rstrip("%").split()[0]), value)
        except (ValueError, IndexError):
            return (1, 0.0, value)

    # -- updates ------------------------------------------------------------------------------
    def _rows_of(self, snap: Snapshot) -> dict[str, Any]:
        """The items this table shows: the snapshot's items, or one of its sections; filtered by
        the render module's own filter language when it has one."""
        items = dict(snap.items) if self.section is None else section_items(snap.sections.get(self.section))
        custom = self.spec.filter_items if self.spec is not None else None
        if custom is not None and self.filter_text:
            try:
                kept = {id(i) for i in custom(list(items.values()), self.filter_text)}
            except ValueError:
                kept = {id(i) for i in items.values()}
            items = {k: v for k, v in items.items() if id(v) in kept}
        return items

    def _ensure_columns(self, snap: Snapshot) -> None:
        raw = dict(snap.items) if self.section is None else section_items(snap.sections.get(self.section))
        self.spec = table_spec(self.source, self.section, snap, list(raw.values()))
        self._bind_row_keys()
        if [c.title for c in self.spec.columns] != [c.title for c in self.columns_spec]:
            self.columns_spec = self.spec.columns
            self._known = {}

    def _cells_for(self, key: str, item: Any) -> tuple[str, ...]:
        known = self._known.get(key)
        if known is not None and (known[0] is item or known[0] == item):
            return known[1]
        return tuple(c.cell(item) for c in self.columns_spec)

    def apply(self, snap: Snapshot) -> None:
        self.last_snapshot = snap
        self._ensure_columns(snap)
        items = self._rows_of(snap)
        known: dict[str, tuple[Any, tuple[str, ...]]] = {}
        visible: dict[str, tuple[str, ...]] = {}
        titles = [c.title for c in self.columns_spec]
        for key, item in items.items():
            cells = self._cells_for(key, item)
            known[key] = (item, cells)
            if self._predicate is None or self._predicate(dict(zip(titles, cells))):
                visible[key] = cells
        self._known = known
        self.items = {k: items[k] for k in visible}
        order = list(visible)
        if self._sort is not None and self._sort[0] < len(titles):
            index, reverse = self._sort
            order.sort(key=lambda k: self._natural(visible[k][index]), reverse=reverse)
        widths = [len(t) for t in titles]
        for cells in visible.values():
            for i, cell in enumerate(cells):
                if len(cell) > widths[i]:
                    widths[i] = len(cell)
        widths = [min(w, MAX_COLUMN_WIDTH) for w in widths]
        self.set_data(titles, widths, order, visible, keep_key=self.selected_key())

    def row_keys(self) -> list[tuple[str, str, str]]:
        """(key, app action, label) of this table's rows and pane: shown in the footer while the
        table has focus, run by the app."""
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
        bindings = type(self)._merged_bindings.copy() if type(self)._merged_bindings is not None else None
        if bindings is None:
            return
        for key, action, label in keys:
            bindings.bind(key, action, _footer_label(label))
        self._bindings = bindings
        self.refresh_bindings()

    # -- selection ----------------------------------------------------------------------------
    def selected_item(self) -> Any:
        key = self.selected_key()
        return self.items.get(key) if key is not None else None


def _footer_label(label: str) -> str:
    """Footer labels are short: the first two words of the row action's label."""
    return " ".join(label.split()[:2]).lower()


def status_text(snap: Snapshot, filter_text: str = "") -> Text:
    if snap.status is Status.UNCONFIGURED:
        # One line says both that it is off and how to turn it on: an unconfigured pane
        # collapses to it.
        return Text.assemble((f"{snap.source}: ", "bold"), ("not configured", "yellow"),
                             (f" · to configure: {snap.hint or 'see README'}", "dim"))
    line = status_line(snap)
    if filter_text:
        line += f"  [filter: {filter_text}]"
    style = {"ok": "green", "error": "bold red", "unconfigured": "yellow"}[snap.status.value]
    if snap.status is Status.OK and snap.fetched_at is None:
        style = "dim"
    return Text.assemble((f"{snap.source}: ", "bold"), (line, style))


class SourcePane(Vertical, can_focus=False):
    """A bordered pane showing one or more sources; a source may add tables for its snapshot
    sections (SLURM nodes, Kubernetes training jobs) and a summary line (storage verdict)."""

    DEFAULT_CSS = """
    SourcePane { border: round $primary-darken-2; height: 1fr; }
    SourcePane:focus-within, SourcePane:focus { border: round $accent; }
    SourcePane.collapsed { height: auto; }
    SourcePane SourceTable.stale { text-opacity: 55%; }
    /* A section (SLURM nodes, training jobs) is as tall as its rows, up to 40%: the primary table
       (the queue) gets the rest. */
    SourcePane SourceTable.section { height: auto; max-height: 40%; }
    SourcePane.collapsed .status { height: auto; text-wrap: wrap; }
    SourcePane .status { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    SourcePane .summary { height: auto; padding: 0 1; }
    SourcePane .section-title { height: 1; color: $text-muted; text-style: italic; }
    """

    def __init__(self, pane_id: str, title: str, views: Iterable[tuple[str, str | None]],
                 unconfigured: Iterable[str] = ()) -> None:
        super().__init__(id=f"pane-{pane_id}")
        self.pane_id = pane_id
        # An unconfigured source stays so for the whole process: it gets its hint, no tables
        # (fewer widgets make the first frame faster).
        self.unconfigured = frozenset(unconfigured)
        self.views = tuple(views)
        self.sources = tuple(dict.fromkeys(source for source, _ in self.views))
        self.border_title = title
        # A pane with no table (every source unconfigured) takes focus itself, so tab, 1..5 and
        # its keys still land somewhere and say what is missing.
        self.can_focus = all(source in self.unconfigured for source in self.sources)

    def compose(self) -> Any:
        for source in self.sources:
            yield Static("", classes="status", id=f"status-{source}")
            yield Static("", classes="summary", id=f"summary-{source}")
            for view_source, section in self.views:
                if view_source != source or source in self.unconfigured:
                    continue
                if section is None:
                    yield SourceTable(source, id=f"table-{source}")
                else:
                    spec = table_spec(source, section)
                    yield Static(spec.title or section, classes="section-title", id=f"title-{source}-{section}")
                    yield SourceTable(source, section, id=f"table-{source}-{section}", classes="section")

    def on_mount(self) -> None:
        for source in self.sources:
            self.query_one(f"#summary-{source}", Static).display = False

    def tables(self) -> list[SourceTable]:
        return list(self.query(SourceTable))

    def table(self, source: str, section: str | None = None) -> SourceTable:
        suffix = f"-{section}" if section else ""
        return self.query_one(f"#table-{source}{suffix}", SourceTable)

    def tables_of(self, source: str) -> list[SourceTable]:
        return [t for t in self.tables() if t.source == source]

    def _set(self, widget: Static, content: Any, layout: bool = True) -> None:
        """Update a line only when its text changed: an idle cockpit must not redraw (or worse,
        re-layout) the screen every second for identical text."""
        key = content.plain if isinstance(content, Text) else str(content)
        if getattr(widget, "_shown", None) == key:
            return
        widget._shown = key  # type: ignore[attr-defined]
        widget.update(content, layout=layout)

    def _set_status(self, snap: Snapshot, filter_text: str) -> None:
        # One fixed-height line: its text changes without any layout work (a collapsed pane's hint
        # may wrap, and is laid out).
        self._set(self.query_one(f"#status-{snap.source}", Static), status_text(snap, filter_text),
                  layout=self.has_class("collapsed"))

    def show(self, snap: Snapshot) -> None:
        tables = self.tables_of(snap.source)
        main = tables[0] if tables else None
        self._set_status(snap, main.filter_text if main is not None else "")
        summary = self.query_one(f"#summary-{snap.source}", Static)
        unconfigured = snap.status is Status.UNCONFIGURED
        for title in self.query(".section-title"):
            if title.id and title.id.startswith(f"title-{snap.source}-"):
                title.display = not unconfigured
        # Rows kept from before an outage are dimmed; the status line says since when.
        stale = snap.status is Status.ERROR and bool(snap.stale)
        for table in tables:
            table.display = not unconfigured
            table.set_class(stale, "stale")
            if not unconfigured:
                table.apply(snap)
        module = render_module(snap.source)
        make_summary = getattr(module, "summary", None) if module is not None else None
        line = make_summary(snap) if (make_summary and not unconfigured and snap.fetched_at) else None
        summary.display = line is not None
        if line is not None:
            self._set(summary, line)

    def refresh_status(self, snap: Snapshot) -> None:
        """Only the status line (the data age moves on even when data does not)."""
        tables = self.tables_of(snap.source)
        self._set_status(snap, tables[0].filter_text if tables else "")
