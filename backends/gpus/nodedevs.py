"""PCI devices as libvirt node devices (works for remote hosts and the test driver)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from backends.libvirt.domains import pci_address_of


@dataclass(frozen=True)
class PciDevice:
    address: str
    vendor_id: str  # 4 hex digits, no 0x
    device_id: str
    class_code: str  # 6 hex digits, e.g. 030200
    product: str
    driver: str | None
    iommu_group: int | None
    iommu_members: tuple[str, ...]
    numa_node: int | None

    @property
    def is_display(self) -> bool:
        return self.class_code.startswith("03")

    @property
    def slot(self) -> str:
        return self.address.rsplit(".", 1)[0]


@lru_cache(maxsize=1024)
def parse_nodedev_xml(xml: str) -> PciDevice | None:
    """One node device's XML as a PciDevice (None: not a PCI device). Memoised by the text: the
    gpus source reads every node device on every refresh, and the XML of a device seldom changes
    (a PciDevice is frozen, so sharing it is safe)."""
    root = ET.fromstring(xml)
    cap = root.find("capability[@type='pci']")
    if cap is None:
        return None
    address = f"{int(cap.findtext('domain', '0'), 0):04x}:{int(cap.findtext('bus', '0'), 0):02x}:" \
              f"{int(cap.findtext('slot', '0'), 0):02x}.{int(cap.findtext('function', '0'), 0):x}"
    group = cap.find("iommuGroup")
    numa = cap.find("numa")
    product = cap.find("product")
    vendor = cap.find("vendor")
    return PciDevice(
        address=address,
        vendor_id=f"{int(vendor.get('id', '0'), 0):04x}" if vendor is not None else "0000",
        device_id=f"{int(product.get('id', '0'), 0):04x}" if product is not None else "0000",
        class_code=f"{int(cap.findtext('class', '0'), 0):06x}",
        product=(product.text or "").strip() if product is not None else "",
        driver=root.findtext("driver/name"),
        iommu_group=int(group.get("number")) if group is not None else None,
        iommu_members=tuple(pci_address_of(a) for a in group.findall("address")) if group is not None else (),
        numa_node=int(numa.get("node")) if numa is not None and numa.get("node") not in (None, "-1") else None,
    )


def read_pci_nodedevs(conn: Any, host_file: str | None = None) -> list[PciDevice]:
    """Every PCI node device. libvirt's test driver drops `<driver>` from node device XML (it is
    filled by udev on real hosts), so for a test-driver host we take the bound driver from the
    host file itself: the same document the test driver loaded, not a guess."""
    import libvirt

    drivers = host_file_drivers(host_file) if host_file else {}
    out = []
    for dev in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV):
        parsed = parse_nodedev_xml(dev.XMLDesc())
        if parsed is None:
            continue
        if parsed.driver is None and parsed.address in drivers:
            parsed = replace(parsed, driver=drivers[parsed.address])
        out.append(parsed)
    out.sort(key=lambda d: d.address)
    return out


# path -> ((mtime_ns, size, inode), drivers): a host file is read again only when it changed.
_HOST_FILE_DRIVERS: dict[str, tuple[tuple[int, int, int], dict[str, str]]] = {}


def host_file_drivers(path: str) -> dict[str, str]:
    """PCI address -> `<driver><name>` of each `<device>` in a test-driver host file. Parsed once
    per version of the file (its modification time, size and inode), not on every refresh."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    version = (st.st_mtime_ns, st.st_size, st.st_ino)
    known = _HOST_FILE_DRIVERS.get(path)
    if known is not None and known[0] == version:
        return dict(known[1])
    drivers = _read_host_file_drivers(path)
    _HOST_FILE_DRIVERS[path] = (version, drivers)
    return dict(drivers)


def _read_host_file_drivers(path: str) -> dict[str, str]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}
    out = {}
    for device in root.iter("device"):
        driver = device.findtext("driver/name")
        if not driver:
            continue
        parsed = parse_nodedev_xml(ET.tostring(device, encoding="unicode"))
        if parsed is not None:
            out[parsed.address] = driver.strip()
    return out
