"""Read domains from one libvirt connection into VmItem rows (runs in a worker thread)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

from backends.libvirt.models import VmItem

STATE_NAMES = {
    0: "nostate", 1: "running", 2: "blocked", 3: "paused",
    4: "shutdown", 5: "shutoff", 6: "crashed", 7: "pmsuspended",
}


def pci_address_of(address: ET.Element) -> str:
    """<address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/> -> 0000:3b:00.0"""
    def part(name: str, width: int) -> str:
        return f"{int(address.get(name, '0'), 0):0{width}x}"

    return f"{part('domain', 4)}:{part('bus', 2)}:{part('slot', 2)}.{int(address.get('function', '0'), 0):x}"


def hostdev_addresses(domain_xml: str) -> tuple[str, ...]:
    root = ET.fromstring(domain_xml)
    out = []
    for hostdev in root.iter("hostdev"):
        if hostdev.get("type") != "pci":
            continue
        address = hostdev.find("source/address")
        if address is not None:
            out.append(pci_address_of(address))
    return tuple(out)


class CpuMeter:
    """CPU % from two cpuTime samples (ns) per domain; first sample yields None."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, int]] = {}

    def percent(self, key: str, cpu_time_ns: int, vcpus: int) -> float | None:
        now = time.monotonic()
        previous = self._last.get(key)
        self._last[key] = (now, cpu_time_ns)
        if previous is None or vcpus <= 0:
            return None
        elapsed = now - previous[0]
        if elapsed <= 0:
            return None
        used = (cpu_time_ns - previous[1]) / 1e9
        return round(max(0.0, min(100.0, 100.0 * used / (elapsed * vcpus))), 1)


def domain_ips(dom: Any) -> tuple[str, ...]:
    import libvirt

    if not dom.isActive():
        return ()
    ips: list[str] = []
    for source in (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT):
        try:
            ifaces = dom.interfaceAddresses(source)
        except libvirt.libvirtError:
            continue
        for iface in (ifaces or {}).values():
            for addr in iface.get("addrs") or []:
                if addr.get("addr") and addr["addr"] not in ips:
                    ips.append(addr["addr"])
        if ips:
            break
    return tuple(ips)


def read_domains(conn: Any, host: str, meter: CpuMeter) -> list[VmItem]:
    items = []
    for dom in conn.listAllDomains():
        state, _max_mem, mem_kib, vcpus, cpu_time = dom.info()
        uuid = dom.UUIDString()
        key = f"{host}/{uuid}"
        running = state == 1
        try:
            autostart = bool(dom.autostart())
        except Exception:
            autostart = False
        items.append(
            VmItem(
                name=dom.name(),
                uuid=uuid,
                host=host,
                state=STATE_NAMES.get(state, "nostate"),
                vcpus=vcpus,
                memory_mib=mem_kib // 1024,
                cpu_percent=meter.percent(key, cpu_time, vcpus) if running else None,
                ips=domain_ips(dom),
                gpus=hostdev_addresses(dom.XMLDesc()),
                autostart=autostart,
            )
        )
    return items
