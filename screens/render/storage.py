"""The storage pane: BeeGFS targets with capacity bars, plus the overview (verdict, nodes, mounts,
services, last probe) shown above the table and in the detail screen. Imports no Textual."""

from __future__ import annotations

from typing import Any, Mapping

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from screens.render import Column, attr, bar, fmt
from screens.render.colours import RowStyle

STATUS_STYLE = {"ok": "bold green", "degraded": "bold yellow", "critical": "bold red"}
STATE_STYLE = {"Online": "green", "Good": "green", "Probably-offline": "yellow", "Needs-resync": "yellow",
               "resyncing": "yellow", "Offline": "red", "Bad": "red",
               "normal": "", "low": "yellow", "emergency": "bold red"}  # capacity pools


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def size(n: int | float | None) -> str:
    """Binary units, as BeeGFS prints them."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def count(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, factor in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= factor:
            return f"{n / factor:.1f}{unit}"
    return str(n)


def used_bar(item: Any) -> str:
    pct = _get(item, "used_percent")
    return bar(pct / 100 if pct is not None else None)


def inode_bar(item: Any) -> str:
    pct = _get(item, "inodes_used_percent")
    return bar(pct / 100 if pct is not None else None, width=6)


def target_id(item: Any) -> str:
    return f"{_get(item, 'type')}:{_get(item, 'id')}"


COLUMNS = [
    Column("TARGET", target_id),
    Column("NODE", attr("node")),
    Column("REACHABILITY", attr("reachability")),
    Column("CONSISTENCY", attr("consistency")),
    Column("USED", used_bar, sort=attr("used_percent"), priority=5),
    Column("SIZE", attr("total_bytes"), render=size),
    Column("FREE", attr("free_bytes"), render=size, priority=4),
    Column("INODES", inode_bar, sort=attr("inodes_used_percent")),
    Column("POOL", attr("capacity_pool")),
]

def target_condition(item: Any) -> str:
    """Offline, Bad or an emergency pool is red; Probably-offline, Needs-resync or a low pool yellow
    (BeeGFS' own words)."""
    styles = {STATE_STYLE.get(str(_get(item, name)), "") for name in ("reachability", "consistency", "capacity_pool")}
    return "red" if any("red" in s for s in styles) else "yellow" if "yellow" in styles else ""


ROW_STYLE = RowStyle(target_condition, {"red": "red", "yellow": "yellow"})

# Keys the pane binds for the selected row. The probe is not about one target: it measures the
# file system from this machine at the configured mount point (nodes can be given via `:`).
ROW_ACTIONS = [
    ("p", "storage.probe", "probe throughput", lambda item: {}),
]

DETAIL_SCREEN = "screens.storage_detail:StorageScreen"


def verdict_line(verdict: Any) -> Text:
    if not verdict:
        return Text("no verdict yet", style="dim")
    status = _get(verdict, "status", "?")
    return Text.assemble((f" {status.upper()} ", STATUS_STYLE.get(status, "bold")), " ", _get(verdict, "summary", ""))


def probe_line(last: Mapping[str, Any] | None) -> Text:
    if not last:
        return Text("no throughput probe yet (action storage.probe)", style="dim")
    when = str(last.get("finished_at", ""))[:19].replace("T", " ")
    nodes = ", ".join(str(n.get("node")) for n in last.get("nodes", [])) or "no node"
    if last.get("write_mb_s") is None:
        return Text(f"last probe {when} on {nodes} failed: " + "; ".join(last.get("errors", [])), style="red")
    target = last.get("target_mb_s") or 1000
    met = last.get("meets_target")
    return Text.assemble(
        f"last probe {when} ({nodes}, {last.get('size_mb')} MiB): write {last['write_mb_s']:.0f} MB/s, "
        f"read {last['read_mb_s']:.0f} MB/s, create {last.get('create_ops_s') or 0:.0f} ops/s  ",
        (f"{'meets' if met else 'below'} {target:g} MB/s target", "green" if met else "yellow"),
    )


def reasons_table(verdict: Any) -> Table | None:
    reasons = _get(verdict, "reasons") or ()
    if not reasons:
        return None
    table = Table(title="Why", title_justify="left", show_edge=False, box=None, pad_edge=False)
    table.add_column("")
    table.add_column("SUBJECT")
    table.add_column("REASON")
    for r in reasons:
        sev = _get(r, "severity")
        table.add_row(Text("✖" if sev == "critical" else "!", style="red" if sev == "critical" else "yellow"),
                      _get(r, "subject"), _get(r, "message"))
    return table


def notes_table(notes: Any) -> Table | None:
    """Parts of the pane an optional BeeGFS command could not fill this time, and why."""
    if not notes:
        return None
    table = Table(title="Not shown", title_justify="left", show_edge=False, box=None, pad_edge=False)
    table.add_column("PART")
    table.add_column("WHY")
    for n in notes:
        table.add_row(Text(_get(n, "part", ""), style="yellow"), _get(n, "message", ""))
    return table


def notes_line(notes: Any) -> Text:
    if not notes:
        return Text("")
    parts = ", ".join(_get(n, "part", "") for n in notes)
    return Text(f"  not shown: {parts}", style="yellow")


def _yes_no(value: bool | None) -> Text:
    if value is None:
        return Text("?", style="dim")
    return Text("yes", style="green") if value else Text("NO", style="bold red")


def nodes_table(nodes: Any) -> Table:
    table = Table(title="Nodes", title_justify="left", show_edge=False, box=None, pad_edge=False)
    for col in ("ID", "TYPE", "NAME", "HOST", "REACHABLE"):
        table.add_column(col)
    for n in nodes or ():
        table.add_row(_get(n, "id"), _get(n, "type"), _get(n, "name"), fmt(_get(n, "host")), _yes_no(_get(n, "reachable")))
    return table


def targets_table(targets: Any) -> Table:
    table = Table(title="Targets", title_justify="left", show_edge=False, box=None, pad_edge=False)
    for col in COLUMNS:
        table.add_column(col.title)
    for t in targets or ():
        cells = [col.cell(t) for col in COLUMNS]
        cells[2] = Text(cells[2], style=STATE_STYLE.get(cells[2], ""))
        cells[3] = Text(cells[3], style=STATE_STYLE.get(cells[3], ""))
        cells[8] = Text(cells[8], style=STATE_STYLE.get(cells[8], ""))
        table.add_row(*cells)
    return table


def mounts_table(mounts: Any, services: Any) -> Table:
    table = Table(title="Clients", title_justify="left", show_edge=False, box=None, pad_edge=False)
    for col in ("HOST", "MOUNT", "MOUNTED", "SERVICES"):
        table.add_column(col)
    by_host: dict[str, list[str]] = {}
    for s in services or ():
        by_host.setdefault(_get(s, "host"), []).append(f"{_get(s, 'unit')}={_get(s, 'active')}")
    for m in mounts or ():
        mounted = _yes_no(_get(m, "mounted")) if not _get(m, "error") else Text(_get(m, "error"), style="red")
        table.add_row(_get(m, "host"), _get(m, "mount_point"), mounted, " ".join(by_host.get(_get(m, "host"), [])) or "-")
    return table


def overview(snapshot: Any) -> RenderableType:
    """Everything about storage health in one renderable (detail screen, `enter` on the pane)."""
    sections = snapshot.sections
    parts: list[RenderableType] = []
    if snapshot.error:
        parts.append(Text(f"error: {snapshot.error}" + (" (showing last good data)" if snapshot.stale else ""), style="bold red"))
    verdict = sections.get("verdict")
    tool = sections.get("tool")
    parts.append(verdict_line(verdict) + Text(f"   via {tool}" if tool else "", style="dim"))
    reasons = reasons_table(verdict)
    if reasons is not None:
        parts.append(reasons)
    notes = notes_table(sections.get("notes"))
    if notes is not None:
        parts.append(notes)
    parts.append(probe_line(sections.get("last_probe")))
    parts.append(nodes_table(sections.get("nodes")))
    parts.append(targets_table(list(snapshot.items.values())))
    if sections.get("mounts") or sections.get("services"):
        parts.append(mounts_table(sections.get("mounts"), sections.get("services")))
    return Group(*parts)


def detail(item: Any) -> str:
    """What `enter` shows for one target row."""
    lines = [
        f"target {target_id(item)}" + (f" ({_get(item, 'alias')})" if _get(item, "alias") else ""),
        f"node:          {fmt(_get(item, 'node'))}" + (f" [ID: {_get(item, 'node_id')}]" if _get(item, "node_id") else ""),
        f"reachability:  {fmt(_get(item, 'reachability'))}",
        f"consistency:   {fmt(_get(item, 'consistency'))}",
        f"capacity pool: {fmt(_get(item, 'capacity_pool'))}",
        f"space:         {used_bar(item)}  {size(_get(item, 'free_bytes'))} free of {size(_get(item, 'total_bytes'))}",
        f"inodes:        {bar((_get(item, 'inodes_used_percent') or 0) / 100 if _get(item, 'inodes_used_percent') is not None else None)}"
        f"  {count(_get(item, 'free_inodes'))} free of {count(_get(item, 'total_inodes'))}",
    ]
    return "\n".join(lines)


def summary(snapshot: Any) -> RenderableType | None:
    """The verdict line shown above the targets table."""
    verdict = snapshot.sections.get("verdict")
    if verdict is None:
        return None
    return (verdict_line(verdict) + Text("  ") + probe_line(snapshot.sections.get("last_probe"))
            + notes_line(snapshot.sections.get("notes")))
