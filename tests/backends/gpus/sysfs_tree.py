"""Build a sysfs-shaped tree in a temp dir, the way the kernel lays it out (symlinks for
bus/pci/devices, driver and iommu_group), from the recorded listing of a real H100 host
(tests/fixtures/nvml-h100/sysfs-pci.txt: `path vendor device class driver iommu=`)
or from an explicit layout."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SysDev:
    address: str
    vendor: str  # 0x10de
    device: str
    class_code: str  # 0x030200
    driver: str | None = None
    group: int | None = None
    numa: int = -1


def parse_listing(text: str) -> list[SysDev]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        address = parts[0].rsplit("/", 1)[-1]
        vendor, device, cls = parts[1], parts[2], parts[3]
        rest = parts[4:]
        driver = rest[0] if rest and not rest[0].startswith("iommu=") else None
        iommu = next((r.split("=", 1)[1] for r in rest if r.startswith("iommu=")), "")
        out.append(SysDev(address, vendor, device, cls, driver, int(iommu) if iommu else None))
    return out


def build(root: Path, devices: list[SysDev]) -> Path:
    sys = root / "sys"
    for dev in devices:
        real = sys / "devices" / "pci0000:00" / dev.address
        real.mkdir(parents=True, exist_ok=True)
        (real / "vendor").write_text(dev.vendor + "\n")
        (real / "device").write_text(dev.device + "\n")
        (real / "class").write_text(dev.class_code + "\n")
        (real / "numa_node").write_text(f"{dev.numa}\n")
        link_dir = sys / "bus" / "pci" / "devices"
        link_dir.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(real, link_dir), link_dir / dev.address)
        if dev.driver:
            drv = sys / "bus" / "pci" / "drivers" / dev.driver
            drv.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(drv, real), real / "driver")
        if dev.group is not None:
            group = sys / "kernel" / "iommu_groups" / str(dev.group)
            (group / "devices").mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(group, real), real / "iommu_group")
            os.symlink(os.path.relpath(real, group / "devices"), group / "devices" / dev.address)
    return sys
