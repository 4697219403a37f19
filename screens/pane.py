"""A pane: one or more sources, each drawn as a table updated by key, plus a status line per
source (status, data age, last error, or how to configure it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from cockpit.snapshot import Snapshot, Status
from screens.render import table_spec
from screens.render import render_module as render_module  # re-exported for the app
from screens.source_table import SourceTable as SourceTable  # re-exported: the pane's tables
from screens.status import status_line


def status_parts(snap: Snapshot, table: SourceTable | None = None,
                 now: datetime | None = None) -> tuple[tuple[str, str], ...]:
    """The source's status line as (text, style) parts; with a filter it counts the rows shown of
    the total. `now`: the moment the screen shows (replay: the recorded one), from which the
    data's age counts. Plain strings: comparing them with the line on screen is cheap."""
    if snap.status is Status.UNCONFIGURED:
        # One line says both that it is off and how to turn it on: an unconfigured pane
        # collapses to it.
        return ((f"{snap.source}: ", "bold"), ("not configured", "yellow"),
                (f" · to configure: {snap.hint or 'see README'}", "dim"))
    filtered = table is not None and bool(table.filter_text)
    shown = table.shown_count if filtered and table is not None else None
    line = status_line(snap, now=now, shown=shown)
    if filtered and table is not None:
        line += f"  [filter: {table.filter_text}]"
    style = "green" if snap.status is Status.OK else "bold red"
    if snap.status is Status.OK and snap.fetched_at is None:
        style = "dim"
    return ((f"{snap.source}: ", "bold"), (line, style))


def status_text(snap: Snapshot, table: SourceTable | None = None, now: datetime | None = None) -> Text:
    """The source's status line (see status_parts) as rich text."""
    return Text.assemble(*status_parts(snap, table, now))


class SourcePane(Vertical, can_focus=False):
    """A bordered pane showing one or more sources; a source may add tables for its snapshot
    sections (SLURM nodes, Kubernetes training jobs) and a summary line (storage verdict)."""

    DEFAULT_CSS = """
    SourcePane { border: round $primary-darken-2; height: 1fr; }
    SourcePane:focus-within, SourcePane:focus { border: round $accent; }
    SourcePane.collapsed { height: auto; }
    SourcePane.collapsed .status { height: auto; text-wrap: wrap; }
    SourcePane SourceTable.stale { text-opacity: 55%; }
    /* A section (SLURM nodes, training jobs) is as tall as its rows, up to 40%: the primary table
       (the queue) gets the rest. */
    SourcePane SourceTable.section { height: auto; max-height: 40%; }
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
        self._shown_snapshots: dict[str, Snapshot] = {}  # the last snapshot shown, per source

    def compose(self) -> Any:
        for source in self.sources:
            yield Static(Text.assemble((f"{source}: ", "bold"), ("starting", "dim")), classes="status",
                         id=f"status-{source}")
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

    def set_unconfigured(self, unconfigured: frozenset[str]) -> None:
        """Known once the config is read (the first frame is drawn before): the tables of this
        pane's unconfigured sources go, and with none left the pane takes focus itself."""
        gone = [s for s in self.sources if s in unconfigured and s not in self.unconfigured]
        self.unconfigured = frozenset(self.unconfigured | unconfigured)
        self.can_focus = all(source in self.unconfigured for source in self.sources)
        if not gone or not self.is_mounted:
            return
        for widget in [*self.query(SourceTable), *self.query(".section-title")]:
            source = widget.source if isinstance(widget, SourceTable) else (widget.id or "").split("-")[1]
            if source in gone:
                widget.remove()
        self.__dict__.pop("_found", None)  # the widgets changed: find them again

    def _widgets(self) -> dict[str, Any]:
        """The pane's tables, titles and lines, found once: what compose yields never changes,
        and querying the DOM on every snapshot was most of an idle screen's CPU."""
        found = getattr(self, "_found", None)
        if found is None:
            found = {"tables": list(self.query(SourceTable)),
                     "titles": {source: [t for t in self.query(".section-title") if (t.id or "").startswith(f"title-{source}-")]
                                for source in self.sources},
                     "status": {source: self.query_one(f"#status-{source}", Static) for source in self.sources},
                     "summary": {source: self.query_one(f"#summary-{source}", Static) for source in self.sources}}
            if found["tables"] or all(source in self.unconfigured for source in self.sources):
                self._found = found  # cached only once composed (tables present)
        return found

    def tables(self) -> list[SourceTable]:
        return list(self._widgets()["tables"])

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

    def _set_status(self, snap: Snapshot, table: SourceTable | None) -> None:
        # One fixed-height line: its text changes without any layout work (a collapsed pane's hint
        # may wrap, and is laid out).
        view_now = getattr(self.app, "view_now", None)  # the cockpit's clock; replay's recorded one
        now = view_now() if callable(view_now) else None
        widget = self._widgets()["status"][snap.source]
        parts = status_parts(snap, table, now)
        if getattr(widget, "_shown_parts", None) == parts:
            return  # the status tick, every few seconds: the same line costs no rich text
        widget._shown_parts = parts
        self._set(widget, Text.assemble(*parts), layout=self.has_class("collapsed"))

    def show(self, snap: Snapshot) -> None:
        tables = self.tables_of(snap.source)
        main = tables[0] if tables else None
        shown = self._shown_snapshots
        same, shown[snap.source] = snap.same_data(shown.get(snap.source)), snap
        if same:
            # A fetch that found nothing new: tables, titles and summary stay as they are; the
            # tables take the newer snapshot (cheaply) and the status line its fetch time.
            for table in tables:
                table.apply(snap)
            self._set_status(snap, main)
            return
        widgets = self._widgets()
        summary = widgets["summary"][snap.source]
        unconfigured = snap.status is Status.UNCONFIGURED
        for title in widgets["titles"][snap.source]:
            title.display = not unconfigured
        # Rows kept from before an outage are dimmed; the status line says since when.
        stale = snap.status is Status.ERROR and bool(snap.stale)
        for table in tables:
            table.display = not unconfigured
            table.set_class(stale, "stale")
            if not unconfigured:
                table.apply(snap)
        self._set_status(snap, main)
        module = render_module(snap.source)
        make_summary = getattr(module, "summary", None) if module is not None else None
        line = make_summary(snap) if (make_summary and not unconfigured and snap.fetched_at) else None
        summary.display = line is not None
        if line is not None:
            self._set(summary, line)

    def on_source_table_filtered(self, event: SourceTable.Filtered) -> None:
        if event.table.last_snapshot is not None:
            self.refresh_status(event.table.last_snapshot)

    def refresh_status(self, snap: Snapshot) -> None:
        """Only the status line (the data age moves on even when data does not)."""
        tables = self.tables_of(snap.source)
        self._set_status(snap, tables[0] if tables else None)
