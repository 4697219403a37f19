"""Columns of the GPU table: who holds which GPU, and its live numbers."""

from typing import Any

from screens.render import Column, attr, bar


def utilization(item: Any) -> str:
    n = item.nvml
    return bar(n.utilization_pct / 100) if n is not None and n.utilization_pct is not None else "-"


def memory(item: Any) -> str:
    n = item.nvml
    if n is None or not n.memory_total_mib:
        return "-"
    return f"{(n.memory_used_mib or 0) / 1024:.1f}/{n.memory_total_mib / 1024:.0f}G"


COLUMNS = [
    Column("PCI", attr("pci_address")),
    Column("NAME", attr("name")),
    Column("DRIVER", attr("host_driver")),
    Column("IOMMU", attr("iommu_group")),
    Column("VM", attr("assigned_to")),
    Column("UTIL", utilization),
    Column("MEM", memory),
    Column("CONFLICTS", lambda i: len(i.conflicts) or "-"),
]
