"""The gpus source on a test-driver host of our own: inventory, who holds what, every conflict,
NVML and sysfs only for the host they describe, history for the sparkline."""

from __future__ import annotations

from backends.gpus.nvml import NvmlReader
from backends.gpus.source import GpuSource
from cockpit.config import load_config
from cockpit.paths import PROVISIONING_DIR
from cockpit.placement import config_claims
from tests.backends.gpus import sysfs_tree
from tests.backends.gpus.fake_pynvml import FakeNVML


async def fetch(uri: str, **kw):
    return await GpuSource({"lab": uri}, nvml=False, **kw).fetch()


async def test_inventory_and_drivers(lab_uri: str) -> None:
    result = await fetch(lab_uri)
    items = list(result.items.values())
    assert [i.pci_address for i in items] == ["0000:01:00.0", "0000:07:00.0", "0000:41:00.0", "0000:42:00.0", "0000:81:00.0"]
    by = {i.pci_address: i for i in items}
    assert by["0000:01:00.0"].functions == ("0000:01:00.1",)
    assert by["0000:41:00.0"].iommu_members == ("0000:40:01.0", "0000:41:00.0", "0000:42:00.0")
    # the test driver drops <driver> from node device XML; the host file says it
    assert by["0000:41:00.0"].host_driver == "nvidia" and by["0000:42:00.0"].host_driver == "vfio-pci"
    assert by["0000:81:00.0"].name == "GA100 [A100 PCIe 80GB]" and by["0000:81:00.0"].numa_node == 1
    assert by["0000:07:00.0"].assigned_to is None and by["0000:07:00.0"].conflicts == ()


async def test_every_conflict_is_flagged(lab_uri: str) -> None:
    by = {i.pci_address: i for i in (await fetch(lab_uri)).items.values()}
    gpu01 = by["0000:01:00.0"]
    assert gpu01.assigned_to == "train-a" and gpu01.holders == ("train-a", "train-b")
    assert any("held by 2 running VMs at once: train-a, train-b" in c for c in gpu01.conflicts)
    assert any("0000:01:00.1 is held by 2 running VMs" in c for c in gpu01.conflicts)  # audio function too
    split = by["0000:42:00.0"]
    assert any("IOMMU group 30 is split" in c and "0000:41:00.0 -> host" in c and "split-vm" in c for c in split.conflicts)
    assert not any("40:01.0" in c for c in split.conflicts)  # the switch port (a bridge) may stay
    a100 = by["0000:81:00.0"]
    assert any("managed='no'" in c and "host-driver-vm will fail to start" in c for c in a100.conflicts)


async def test_config_sharing_says_who_gets_it_when(clean_lab_uri: str) -> None:
    loaded = load_config(PROVISIONING_DIR / "samples" / "multi-gpu-clusters.yaml")
    result = await fetch(clean_lab_uri, claims=config_claims(loaded.config))
    gpu = result.items["lab/0000:01:00.0"]
    sentence = next(c for c in gpu.conflicts if c.startswith("0000:01:00.0 is in the config of 2 VMs"))
    assert "hpc-cluster-compute-01 gets it when its cluster starts" in sentence
    assert "cloud-cluster-gpu-worker-01 only when started by hand while hpc-cluster-compute-01 is off" in sentence
    assert result.items["lab/0000:07:00.0"].conflicts == ()
    assert "config_problems" not in result.sections


async def test_config_naming_unknown_devices_is_reported(lab_uri: str) -> None:
    loaded = load_config(PROVISIONING_DIR / "samples" / "multi-gpu-clusters.yaml")
    claims = [c for c in config_claims(loaded.config)]
    claims.append(claims[0].__class__("hpc", "ghost-vm", "0000:ee:00.0", True))
    result = await fetch(lab_uri, claims=claims)
    assert result.sections["config_problems"] == ["ghost-vm (hpc): 0000:ee:00.0 is not a PCI device on host lab"]


async def test_nvml_and_sysfs_only_for_the_named_local_host(lab_uri: str, tmp_path, h100_fixtures) -> None:
    fake = FakeNVML.from_json(h100_fixtures / "nvml_h100.json", bus_ids=["00000000:81:00.0"])
    sys = sysfs_tree.build(tmp_path, [sysfs_tree.SysDev("0000:81:00.0", "0x10de", "0x20b5", "0x030200", "nvidia", 50, 1),
                                      sysfs_tree.SysDev("0000:c3:00.0", "0x10de", "0x26b9", "0x030200", "vfio-pci", 90, 1)])
    source = GpuSource({"lab": lab_uri}, nvml=NvmlReader(fake.module()), sysfs_root=str(sys), sysfs_host="lab")
    first = await source.fetch()
    a100 = first.items["lab/0000:81:00.0"]
    assert a100.nvml is not None and a100.nvml.name == "NVIDIA H100 80GB HBM3" and a100.nvml.source == "host-nvml"
    assert "lab/0000:c3:00.0" in first.items  # sysfs adds what node devices lack
    assert first.sections["nvml"] == "on"
    second = await source.fetch()
    assert second.items["lab/0000:81:00.0"].util_history == (0, 0)
    # not named: a test-driver host is not this machine, so no host NVML is attached to it
    other = await GpuSource({"lab": lab_uri}, nvml=NvmlReader(fake.module())).fetch()
    assert other.items["lab/0000:81:00.0"].nvml is None and other.sections["nvml"].startswith("not used")
