"""PCI inventory from sysfs (`<root>/bus/pci/devices`): vendor, device, class, bound driver,
IOMMU group with its members, NUMA node. `root` is /sys on a real host, a fixture tree in tests.

Layout read here (as the kernel lays it out):
  bus/pci/devices/0000:41:00.0 -> ../../../devices/pci0000:40/0000:40:01.1/0000:41:00.0
  <dev>/vendor, device, class   0x10de / 0x2331 / 0x030200
  <dev>/driver -> .../bus/pci/drivers/vfio-pci    (absent: no driver bound)
  <dev>/iommu_group -> .../kernel/iommu_groups/30 (absent: IOMMU off)
  kernel/iommu_groups/30/devices/<addr>           members of the group
  <dev>/numa_node                                  -1 when the platform has no NUMA info
"""

from __future__ import annotations

import os
from pathlib import Path

from backends.gpus.nodedevs import PciDevice
from backends.gpus.pci_ids import product_name


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _hex(text: str | None, width: int) -> str:
    if not text:
        return "0" * width
    return f"{int(text, 16):0{width}x}"


def read_device(dev_dir: Path) -> PciDevice:
    address = dev_dir.name.lower()
    vendor = _hex(_read(dev_dir / "vendor"), 4)
    device = _hex(_read(dev_dir / "device"), 4)
    class_code = _hex(_read(dev_dir / "class"), 6)
    driver = None
    if (dev_dir / "driver").is_symlink():
        driver = os.path.basename(os.readlink(dev_dir / "driver"))
    group = None
    members: tuple[str, ...] = ()
    if (dev_dir / "iommu_group").is_symlink():
        group_dir = (dev_dir / "iommu_group").resolve()
        try:
            group = int(group_dir.name)
        except ValueError:
            group = None
        try:
            members = tuple(sorted(p.name.lower() for p in (group_dir / "devices").iterdir()))
        except OSError:
            members = (address,)
    numa_text = _read(dev_dir / "numa_node")
    numa = int(numa_text) if numa_text and numa_text.lstrip("-").isdigit() and int(numa_text) >= 0 else None
    return PciDevice(
        address=address,
        vendor_id=vendor,
        device_id=device,
        class_code=class_code,
        product=product_name(vendor, device, class_code) or "",
        driver=driver,
        iommu_group=group,
        iommu_members=members,
        numa_node=numa,
    )


def read_sysfs_pci(root: str | os.PathLike[str] = "/sys") -> list[PciDevice]:
    devices_dir = Path(root) / "bus" / "pci" / "devices"
    if not devices_dir.is_dir():
        raise FileNotFoundError(f"{devices_dir}: no PCI devices directory (is {root} a sysfs tree?)")
    return sorted((read_device(d) for d in devices_dir.iterdir()), key=lambda d: d.address)
