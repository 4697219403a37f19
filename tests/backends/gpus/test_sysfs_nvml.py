"""sysfs inventory against a tree built from a real H100 host's listing; NVML through a fake made
of that host's recorded readings (no GPU on CI: the real NVML path is checked on a GPU machine)."""

from __future__ import annotations

import pytest

from backends.gpus.nvml import NvmlReader, normalize_bus_id
from backends.gpus.readiness import host_readiness
from backends.gpus.sysfs import read_sysfs_pci
from tests.backends.gpus import sysfs_tree
from tests.backends.gpus.fake_pynvml import FakeNVML


def test_real_h100_listing(tmp_path, h100_fixtures) -> None:
    devices = sysfs_tree.parse_listing((h100_fixtures / "sysfs-pci.txt").read_text())
    sys = sysfs_tree.build(tmp_path, devices)
    parsed = read_sysfs_pci(sys)
    assert [d.address for d in parsed] == [f"0000:00:0{i}.0" for i in range(7)]
    gpu = parsed[-1]
    assert (gpu.vendor_id, gpu.device_id, gpu.class_code, gpu.driver) == ("10de", "2330", "030200", "nvidia")
    assert gpu.is_display and gpu.product == "GH100 [H100 SXM5 80GB]"
    assert gpu.iommu_group is None and gpu.numa_node is None  # that VM had no IOMMU, no NUMA info
    assert parsed[0].driver is None  # host bridge: nothing bound
    assert [d.driver for d in parsed[1:6]] == ["virtio-pci"] * 5
    # the recorded lspci listing names the same devices
    lspci = [line.strip() for line in (h100_fixtures / "lspci.txt").read_text().splitlines() if line.startswith("0000:")]
    assert lspci == [d.address for d in parsed]


def test_groups_members_and_numa(tmp_path) -> None:
    sys = sysfs_tree.build(tmp_path, [
        sysfs_tree.SysDev("0000:41:00.0", "0x10de", "0x2331", "0x030200", "vfio-pci", 30, 1),
        sysfs_tree.SysDev("0000:42:00.0", "0x10de", "0x2331", "0x030200", "nvidia", 30, 1),
        sysfs_tree.SysDev("0000:01:00.1", "0x10de", "0x22bd", "0x040300", "snd_hda_intel", 1, 0),
    ])
    by = {d.address: d for d in read_sysfs_pci(sys)}
    assert by["0000:41:00.0"].iommu_members == ("0000:41:00.0", "0000:42:00.0")
    assert by["0000:42:00.0"].numa_node == 1 and by["0000:01:00.1"].driver == "snd_hda_intel"
    assert not by["0000:01:00.1"].is_display


def test_missing_sysfs_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no PCI devices directory"):
        read_sysfs_pci(tmp_path / "nope")


def test_nvml_readings_from_recorded_h100(h100_fixtures) -> None:
    fake = FakeNVML.from_json(h100_fixtures / "nvml_h100.json", bus_ids=["00000000:00:06.0", "00000000:41:00.0"])
    reader = NvmlReader(fake.module())
    readings = reader.read()
    assert set(readings) == {"0000:00:06.0", "0000:41:00.0"}
    r = readings["0000:00:06.0"]
    assert r.name == "NVIDIA H100 80GB HBM3" and r.uuid.startswith("GPU-")
    assert r.memory_total_mib == 85520809984 // (1 << 20) == 81559  # nvidia-smi's 81559 MiB
    assert (r.utilization_pct, r.temperature_c, r.power_w) == (0, 32, 120.5)
    reader.read()
    reader.read()
    assert fake.calls["name"] == 2 and fake.calls["uuid"] == 2  # slow fields: once per device


def test_missing_nvml_is_a_state_not_a_crash() -> None:
    reader = NvmlReader(FakeNVML({"devices": [], "count": 0}, library_present=False).module())
    assert reader.read() == {}
    assert reader.unavailable == "NVML Shared Library Not Found"


def test_bus_id_normalization() -> None:
    assert normalize_bus_id(b"00000000:3B:00.0") == "0000:3b:00.0"
    assert normalize_bus_id("00000001:81:00.1") == "0001:81:00.1"


def test_readiness_names_each_fix(tmp_path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cmdline").write_text("BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet\n")
    checks = {c.name: c for c in host_readiness(tmp_path)}
    assert not checks["iommu"].ok and "intel_iommu=on" in checks["iommu"].fix and "update-grub" in checks["iommu"].fix
    assert not checks["vfio"].ok and "modprobe vfio-pci" in checks["vfio"].fix
    assert not checks["kvm"].ok and "kvm_intel" in checks["kvm"].fix
    (tmp_path / "proc" / "cmdline").write_text("root=/dev/sda1 intel_iommu=on iommu=pt\n")
    (tmp_path / "sys" / "kernel" / "iommu_groups" / "0").mkdir(parents=True)
    (tmp_path / "sys" / "module" / "vfio_pci").mkdir(parents=True)
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "kvm").write_text("")
    assert all(c.ok for c in host_readiness(tmp_path))
