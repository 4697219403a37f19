"""`cockpit snapshot --format table`: the panes as plain text tables (rich, no Textual)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Mapping

from rich.console import Console
from rich.table import Table

from cockpit.snapshot import Snapshot, Status
from screens.render import TableSpec, render_module, section_items, sort_items, table_spec
from screens.status import status_line


def _table(spec: TableSpec, items: list[Any]) -> Table:
    """Rows in the pane's default order (by value: job ids numerically, arrays together)."""
    columns = spec.columns
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for col in columns:
        table.add_column(col.title, overflow="fold")
    by = next((c for c in columns if c.title == spec.default_sort), None)
    for item in sort_items(by, items) if by is not None else items:
        table.add_row(*(col.cell(item) for col in columns))
    return table


def render_snapshots(snapshots: dict[str, Snapshot], width: int = 140,
                     origins: Mapping[str, str] | None = None, now: datetime | None = None) -> str:
    """`origins`: where each source's settings came from (in words), printed under its heading;
    `now`: the moment shown (a recording's), from which "updated 10s ago" counts."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    for name, snap in snapshots.items():
        console.print(f"== {name}: {status_line(snap, now=now)}")
        if origins is not None:
            console.print(f"   settings from: {origins.get(name, 'not configured')}", markup=False, highlight=False)
        if snap.status is Status.UNCONFIGURED:
            console.print()
            continue
        module = render_module(name)
        summary = getattr(module, "summary", None)
        if summary is not None and snap.fetched_at is not None:
            line = summary(snap)
            if line is not None:
                console.print(line)
        items = list(snap.items.values())
        if items:
            console.print(_table(table_spec(name, None, snap, items), items))
        else:
            console.print("   (no items)")
        # The sections a pane shows as tables of their own (SLURM nodes, training jobs, ...).
        for section, spec in getattr(module, "SECTIONS", {}).items():
            rows = list(section_items(snap.sections.get(section)).values())
            if rows:
                console.print(f"-- {name} {spec.get('title') or section}")
                console.print(_table(table_spec(name, section, snap, rows), rows))
        console.print()
    return buffer.getvalue()
