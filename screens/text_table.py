"""`cockpit snapshot --format table`: the panes as plain text tables (rich, no Textual)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from cockpit.snapshot import Snapshot, Status
from screens.render import columns_for
from screens.status import status_line


def render_snapshots(snapshots: dict[str, Snapshot], width: int = 140) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    for name, snap in snapshots.items():
        console.print(f"== {name}: {status_line(snap)}")
        if snap.status is Status.UNCONFIGURED:
            console.print()
            continue
        items = list(snap.items.values())
        if not items:
            console.print("   (no items)\n")
            continue
        cols = columns_for(name, items)
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for col in cols:
            table.add_column(col.title, overflow="fold")
        for item in items:
            table.add_row(*(col.cell(item) for col in cols))
        console.print(table)
        console.print()
    return buffer.getvalue()
