"""Columns of the GPU table: who holds which GPU, its live numbers with a short history, and
what is wrong with the assignment."""

import functools
from typing import Any

from cockpit.cgroup_owner import owner_text
from cockpit.values import size
from screens.render import Column, attr, bar
from screens.render.colours import RowStyle

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Any, width: int = 12) -> str:
    values = list(values or [])[-width:]
    if not values:
        return "-"
    return "".join(SPARK[min(len(SPARK) - 1, max(0, int(v) * len(SPARK) // 101))] for v in values)


def utilization(item: Any) -> str:
    n = item.nvml
    return bar(n.utilization_pct / 100, width=8) if n is not None and n.utilization_pct is not None else "-"


def memory(item: Any) -> str:
    n = item.nvml
    if n is None or not n.memory_total_mib:
        return "-"
    fraction = (n.memory_used_mib or 0) / n.memory_total_mib
    return f"{bar(fraction, width=6)} {(n.memory_used_mib or 0) / 1024:.1f}/{n.memory_total_mib / 1024:.0f}G"


def telemetry_source(item: Any) -> str:
    n = item.nvml
    if n is None:
        return "-"
    return f"guest:{n.vm}" if n.source == "guest-nvidia-smi" else n.source


def conflicts(item: Any) -> str:
    return f"⚠ {len(item.conflicts)}" if item.conflicts else "-"


COLUMNS = [
    Column("PCI", attr("pci_address"), priority=10),
    Column("NAME", attr("name"), priority=6),
    Column("DRIVER", attr("host_driver")),
    Column("IOMMU", attr("iommu_group")),
    Column("VM", attr("assigned_to"), priority=9),  # who holds the GPU: the pane's point
    Column("UTIL", utilization, priority=5, sort=lambda i: i.nvml.utilization_pct if i.nvml else None),
    Column("HISTORY", lambda i: sparkline(i.util_history)),
    Column("MEM", memory, sort=lambda i: i.nvml.memory_used_mib if i.nvml else None),
    Column("TEMP", lambda i: f"{i.nvml.temperature_c}C" if i.nvml and i.nvml.temperature_c is not None else "-",
           sort=lambda i: i.nvml.temperature_c if i.nvml else None),
    Column("FROM", telemetry_source),
    Column("CONFLICTS", conflicts, sort=lambda i: len(i.conflicts), priority=8),
]


def columns_for_snapshot(snapshot: Any) -> list[Column]:
    """COLUMNS, with an IDLE column after UTIL while some allocated GPU is idle (the set is the
    gpus snapshot's `allocated_idle` section, from cockpit.gpu_map: the app adds it)."""
    idle = snapshot.sections.get("allocated_idle") if snapshot is not None else None
    if not idle:
        return COLUMNS
    if isinstance(idle, dict):  # GPU key -> seconds idle (a running screen's IdleClock)
        return _idle_columns(frozenset((key, f"idle {int(seconds // 60)}m") for key, seconds in idle.items()))
    return _idle_columns(frozenset((key, "idle") for key in idle))


@functools.lru_cache(maxsize=8)
def _idle_columns(idle: frozenset[tuple[str, str]]) -> list[Column]:
    """The same Column objects for the same idle cells, so the table's per-row cache survives updates."""
    cells = dict(idle)
    flag = Column("IDLE", lambda i: cells.get(i.key(), "-"), priority=7)
    at = [c.title for c in COLUMNS].index("UTIL") + 1
    return [*COLUMNS[:at], flag, *COLUMNS[at:]]


# A GPU with an assignment conflict reads yellow.
ROW_STYLE = RowStyle(lambda i: "conflict" if i.conflicts else None, {"conflict": "yellow"})

ROW_ACTIONS = [
    ("u", "gpu.unbind_vfio", "return to host driver", lambda i: {"pci_address": i.pci_address, "host": i.host}),
    ("b", "gpu.bind_vfio", "bind to vfio-pci", lambda i: {"pci_address": i.pci_address, "host": i.host}),
]
# Row keys that open a screen taking (runtime, item) instead of running an action: `g` opens the
# assign modal, which shows conflicts before anything is confirmed.
# `m` shows the GPU map for the selected GPU: VM, node, job or pod, run (read-only).
DETAIL_SCREEN = "screens.gpu_detail:GpuDetailScreen"  # adds Prometheus history when configured
ROW_SCREENS = [("g", "screens.gpus_assign:AssignGpuScreen", "assign to a VM…"),
               ("m", "screens.gpu_chain:GpuChainScreen", "map: VM, node, job/pod, run")]


def detail(item: Any) -> str:
    n = item.nvml
    lines = [
        f"{item.pci_address}  {item.name}  on {item.host}",
        f"ids          {item.vendor_id}:{item.device_id}",
        f"driver       {item.host_driver or '-'}",
        f"iommu group  {item.iommu_group if item.iommu_group is not None else '-'}  members: {', '.join(item.iommu_members) or '-'}",
        f"numa node    {item.numa_node if item.numa_node is not None else '-'}",
        f"functions    {', '.join(item.functions) or '-'}",
        f"assigned to  {item.assigned_to or '-'}  (defined in: {', '.join(item.holders) or 'no VM'})",
    ]
    if n is not None:
        parts = [f"util {n.utilization_pct}%" if n.utilization_pct is not None else None,
                 f"mem {size((n.memory_used_mib or 0) * 2**20)} of {size(n.memory_total_mib * 2**20)}"
                 if n.memory_total_mib else None,
                 f"{n.temperature_c} C" if n.temperature_c is not None else None,
                 f"{n.power_w} W" if n.power_w is not None else None, sparkline(item.util_history, 30)]
        lines.append(f"telemetry    {telemetry_source(item)}: " + "  ".join(p for p in parts if p and p != "-"))
        for proc in n.processes:
            used = size(proc.used_memory_mib * 2**20) if proc.used_memory_mib is not None else "memory unknown"
            owner = f"  {owner_text(proc.owner_kind, proc.owner_id, proc.owner_detail)}" if proc.owner_kind else ""
            cgroup = f"  cgroup {proc.cgroup}" if proc.cgroup and not proc.owner_kind else ""
            lines.append(f"  pid {proc.pid}  {proc.command or '?'}  {used}{owner}{cgroup}")
    else:
        lines.append("telemetry    none (no host NVML for it, and no guest answered)")
    if item.conflicts:
        lines.append("conflicts:")
        lines.extend(f"  ⚠ {c}" for c in item.conflicts)
    return "\n".join(lines)
