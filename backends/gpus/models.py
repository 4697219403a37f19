"""Snapshot items for the `gpus` source (field names are part of the JSON contract)."""

from __future__ import annotations

from cockpit.items import Item


class GpuProcess(Item):
    pid: int
    used_memory_mib: int | None = None
    name: str | None = None
    # Host processes only (read from /proc, backends/gpus/host_procs.py): the command, its cgroup
    # and the work that cgroup belongs to (cockpit/cgroup_owner.py: slurm_job, pod, container,
    # service, session). None when the pid is gone or not visible from here.
    command: str | None = None
    cgroup: str | None = None
    owner_kind: str | None = None
    owner_id: str | None = None
    owner_detail: str | None = None


class NvmlReading(Item):
    utilization_pct: int | None = None
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    name: str | None = None  # NVML's product name ("NVIDIA H100 80GB HBM3")
    uuid: str | None = None
    processes: tuple[GpuProcess, ...] = ()
    source: str = "host-nvml"  # host-nvml | guest-nvidia-smi | dcgm
    vm: str | None = None  # for guest readings: the VM the numbers came from


class GpuItem(Item):
    pci_address: str
    host: str
    name: str
    vendor_id: str
    device_id: str
    iommu_group: int | None = None
    iommu_members: tuple[str, ...] = ()
    numa_node: int | None = None
    host_driver: str | None = None
    functions: tuple[str, ...] = ()  # companion functions in the same slot (HDMI audio .1)
    assigned_to: str | None = None  # VM that holds it (running first, else defined)
    holders: tuple[str, ...] = ()  # every VM whose definition names it
    nvml: NvmlReading | None = None
    conflicts: tuple[str, ...] = ()
    # Recent utilization samples (oldest first) for the sparkline; kept by the source, so every
    # viewer (screen, SSH) sees the same history.
    util_history: tuple[int, ...] = ()

    def key(self) -> str:
        return f"{self.host}/{self.pci_address}"
