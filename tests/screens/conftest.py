"""Screen fixtures: a runtime whose sources are fixed (for pictures) or the real demo (for keys)."""

from __future__ import annotations

import pytest

from backends.gpus.models import GpuItem, NvmlReading
from backends.libvirt.models import VmItem
from cockpit.hub import Collector, Hub, Timing, UnconfiguredSource
from cockpit.runtime import CockpitRuntime
from cockpit.snapshot import FetchResult


class StaticSource:
    def __init__(self, name, items, fail_with: str | None = None):
        self.name = name
        self.items = items
        self.fail_with = fail_with
        self.calls = 0

    async def fetch(self):
        self.calls += 1
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        return FetchResult.of(self.items)


VMS = [
    VmItem(name="hpc-controller", uuid="u1", host="ws", state="running", vcpus=4, memory_mib=8192, cpu_percent=3.5,
           ips=("192.168.100.10",)),
    VmItem(name="hpc-compute-01", uuid="u2", host="ws", state="running", vcpus=8, memory_mib=16384, cpu_percent=97.0,
           ips=("192.168.100.11",), gpus=("0000:01:00.0", "0000:01:00.1")),
    VmItem(name="cloud-gpu-worker-01", uuid="u3", host="ws", state="shutoff", vcpus=8, memory_mib=16384,
           gpus=("0000:01:00.0",)),
]
GPUS = [
    GpuItem(pci_address="0000:01:00.0", host="ws", name="RTX 6000 Ada", vendor_id="10de", device_id="26b1",
            iommu_group=12, host_driver="vfio-pci", functions=("0000:01:00.1",), assigned_to="hpc-compute-01",
            holders=("hpc-compute-01", "cloud-gpu-worker-01"),
            nvml=NvmlReading(utilization_pct=87, memory_used_mib=30000, memory_total_mib=49140, temperature_c=71,
                             power_w=250.0, source="guest-nvidia-smi")),
    GpuItem(pci_address="0000:81:00.0", host="ws", name="A100 PCIe 80GB", vendor_id="10de", device_id="20b5",
            iommu_group=50, host_driver="nvidia"),
]


def static_runtime(tmp_path, loaded, *, fail_slurm: str | None = None) -> CockpitRuntime:
    from cockpit.audit import AuditLog
    from cockpit.ops import default_registry

    sources = [
        StaticSource("vms", VMS),
        StaticSource("gpus", GPUS),
        StaticSource("slurm", [], fail_with=fail_slurm) if fail_slurm else UnconfiguredSource("slurm", "set cockpit.slurm or SLURM_CONF"),
        UnconfiguredSource("storage", "set cockpit.beegfs.management_host"),
        UnconfiguredSource("kubernetes", "set cockpit.kubernetes or KUBECONFIG"),
        StaticSource("mlflow", []),
    ]
    hub = Hub([Collector(s, Timing(interval=3600, min_interval=0, backoff_base=3600)) for s in sources])
    return CockpitRuntime(loaded=loaded, hub=hub, registry=default_registry(), audit=AuditLog(tmp_path / "audit.jsonl"))


@pytest.fixture
def fixed_runtime(tmp_path, demo_loaded):
    return static_runtime(tmp_path, demo_loaded)
