"""PCI devices as libvirt node devices (works for remote hosts and the test driver)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
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


def parse_nodedev_xml(xml: str) -> PciDevice | None:
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


def host_file_drivers(path: str) -> dict[str, str]:
    """PCI address -> `<driver><name>` of each `<device>` in a test-driver host file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}
    out = {}
    for device in root.iter("device"):
        xml = ET.tostring(device, encoding="unicode")
        driver = device.findtext("driver/name")
        if not driver:
            continue
        parsed = parse_nodedev_xml(xml)
        if parsed is not None:
            out[parsed.address] = driver.strip()
    return out
