"""Snapshot items for the `gpus` source (field names are part of the JSON contract)."""

from __future__ import annotations

from cockpit.snapshot import Item


class NvmlReading(Item):
    utilization_pct: int | None = None
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    source: str = "host-nvml"  # host-nvml | guest-nvidia-smi | dcgm


class GpuItem(Item):
    pci_address: str
    host: str
    name: str
    vendor_id: str
    device_id: str
    iommu_group: int | None = None
    numa_node: int | None = None
    host_driver: str | None = None
    functions: tuple[str, ...] = ()  # companion functions in the same slot (HDMI audio .1)
    assigned_to: str | None = None  # VM that holds it (running first, else defined)
    holders: tuple[str, ...] = ()  # every VM whose definition names it
    nvml: NvmlReading | None = None
    conflicts: tuple[str, ...] = ()

    def key(self) -> str:
        return f"{self.host}/{self.pci_address}"
