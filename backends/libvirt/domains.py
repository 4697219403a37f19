"""Read domains from one libvirt connection into VmItem rows (runs in a worker thread).

One batched `getAllDomainStats` per tick gives state, CPU time, balloon and vCPUs for every
domain. Domain XML (host devices, interfaces) changes rarely: it is parsed once and cached until
the domain's state changes, an event says it changed, or it is older than `xml_max_age`.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from backends.libvirt.models import VmItem

STATE_NAMES = {
    0: "nostate", 1: "running", 2: "blocked", 3: "paused",
    4: "shutdown", 5: "shutoff", 6: "crashed", 7: "pmsuspended",
}
ACTIVE_STATES = {1, 2, 3, 4, 7}
XML_INACTIVE = 2  # libvirt.VIR_DOMAIN_XML_INACTIVE


def pci_address_of(address: ET.Element) -> str:
    """<address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/> -> 0000:3b:00.0"""
    def part(name: str, width: int) -> str:
        return f"{int(address.get(name, '0'), 0):0{width}x}"

    return f"{part('domain', 4)}:{part('bus', 2)}:{part('slot', 2)}.{int(address.get('function', '0'), 0):x}"


def pci_address_xml(address: str) -> str:
    """0000:3b:00.0 -> the <address .../> element libvirt wants in <source>."""
    domain, bus, rest = address.split(":")
    slot, function = rest.split(".")
    return f"<address domain='0x{domain}' bus='0x{bus}' slot='0x{slot}' function='0x{function}'/>"


@dataclass(frozen=True)
class Hostdev:
    address: str  # host PCI address
    managed: bool = True
    guest_address: str | None = None  # where the guest sees it (nvidia-smi's bus id, mapped back)
    rom_bar: bool | None = None


def parse_hostdevs(domain_xml: str | ET.Element) -> tuple[Hostdev, ...]:
    root = ET.fromstring(domain_xml) if isinstance(domain_xml, str) else domain_xml
    out = []
    for hostdev in root.iter("hostdev"):
        if hostdev.get("type") != "pci":
            continue
        source = hostdev.find("source/address")
        if source is None:
            continue
        guest = hostdev.find("address[@type='pci']")
        rom = hostdev.find("rom")
        out.append(Hostdev(
            address=pci_address_of(source),
            managed=hostdev.get("managed", "no") == "yes",
            guest_address=pci_address_of(guest) if guest is not None else None,
            rom_bar=(rom.get("bar") == "on") if rom is not None and rom.get("bar") else None,
        ))
    return tuple(out)


def hostdev_addresses(domain_xml: str) -> tuple[str, ...]:
    return tuple(h.address for h in parse_hostdevs(domain_xml))


def _kib(element: ET.Element | None) -> int | None:
    if element is None or not (element.text or "").strip():
        return None
    value = int(element.text.strip())
    unit = (element.get("unit") or "KiB").lower()
    scale = {"b": 1 / 1024, "bytes": 1 / 1024, "k": 1, "kib": 1, "kb": 1000 / 1024, "m": 1024, "mib": 1024,
             "mb": 1e6 / 1024, "g": 1 << 20, "gib": 1 << 20, "gb": 1e9 / 1024, "t": 1 << 30, "tib": 1 << 30}
    return int(value * scale.get(unit, 1))


@dataclass(frozen=True)
class DomainFacts:
    """What the domain XML says (cached between ticks)."""

    hostdevs: tuple[Hostdev, ...] = ()
    macs: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    vcpus: int = 0
    memory_kib: int = 0


def parse_facts(domain_xml: str) -> DomainFacts:
    root = ET.fromstring(domain_xml)
    macs, networks = [], []
    for iface in root.iter("interface"):
        mac = iface.find("mac")
        if mac is not None and mac.get("address"):
            macs.append(mac.get("address").lower())
        source = iface.find("source")
        if source is not None and source.get("network"):
            networks.append(source.get("network"))
    vcpu = root.findtext("vcpu")
    memory = _kib(root.find("currentMemory")) or _kib(root.find("memory")) or 0
    return DomainFacts(
        hostdevs=parse_hostdevs(root),
        macs=tuple(macs),
        networks=tuple(dict.fromkeys(networks)),
        vcpus=int(vcpu) if vcpu and vcpu.strip().isdigit() else 0,
        memory_kib=memory,
    )


class CpuMeter:
    """CPU % from two cpuTime samples (ns) per domain; first sample yields None."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, int]] = {}

    def percent(self, key: str, cpu_time_ns: int, vcpus: int, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        previous = self._last.get(key)
        self._last[key] = (now, cpu_time_ns)
        if previous is None or vcpus <= 0:
            return None
        elapsed = now - previous[0]
        if elapsed <= 0:
            return None
        used = (cpu_time_ns - previous[1]) / 1e9
        return round(max(0.0, min(100.0, 100.0 * used / (elapsed * vcpus))), 1)

    def forget_except(self, keys: set[str]) -> None:
        for key in [k for k in self._last if k not in keys]:
            del self._last[key]


@dataclass
class _Cached:
    facts: DomainFacts
    state: int
    at: float
    ips: tuple[str, ...] = ()
    ips_at: float = 0.0


@dataclass
class DomainReader:
    """Per-host reader kept across ticks (CPU meter, XML and IP caches)."""

    host: str
    xml_max_age: float = 30.0
    ip_max_age: float = 10.0
    meter: CpuMeter = field(default_factory=CpuMeter)
    _cache: dict[str, _Cached] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    xml_reads: int = 0  # how many domain XMLs were fetched (benchmarks, tests)

    def invalidate(self, uuid: str | None = None) -> None:
        """Drop cached XML for one domain (an event or an action changed it), or for all."""
        with self._lock:
            if uuid is None:
                self._cache.clear()
            else:
                self._cache.pop(uuid, None)

    def read(self, conn: Any) -> list[VmItem]:
        import libvirt

        flags = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
                 | libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_VCPU)
        now = time.monotonic()
        items = []
        seen = set()
        for dom, stats in conn.getAllDomainStats(flags):
            uuid = dom.UUIDString()
            seen.add(uuid)
            state = int(stats.get("state.state", 0))
            cached = self._facts(dom, uuid, state, now)
            active = state in ACTIVE_STATES
            vcpus = int(stats.get("vcpu.current", 0)) or cached.facts.vcpus
            memory_kib = int(stats.get("balloon.current", 0)) or cached.facts.memory_kib
            cpu_time = stats.get("cpu.time")
            if active and cpu_time is None:
                # Drivers without CPU stats (the test driver): one info() call for this domain.
                _state, _max, mem, info_vcpus, cpu_time = dom.info()
                memory_kib = memory_kib or mem
                vcpus = vcpus or info_vcpus
            key = f"{self.host}/{uuid}"
            cpu = self.meter.percent(key, int(cpu_time), vcpus, now) if active and state == 1 else None
            items.append(VmItem(
                name=dom.name(),
                uuid=uuid,
                host=self.host,
                state=STATE_NAMES.get(state, "nostate"),
                vcpus=vcpus,
                memory_mib=memory_kib // 1024,
                cpu_percent=cpu,
                ips=self._ips(dom, cached, active, now),
                gpus=tuple(h.address for h in cached.facts.hostdevs),
                autostart=_autostart(dom),
            ))
        with self._lock:
            for uuid in [u for u in self._cache if u not in seen]:
                del self._cache[uuid]
        self.meter.forget_except({f"{self.host}/{u}" for u in seen})
        items.sort(key=lambda i: (i.name, i.uuid))
        return items

    def read_claims(self, conn: Any, ips_for_gpu_holders: bool = False) -> list[tuple[str, bool, DomainFacts, tuple[str, ...]]]:
        """(name, active, facts, ips) per domain with one batched state query; IPs only for
        running domains holding host devices (guest telemetry needs them)."""
        import libvirt

        now = time.monotonic()
        out = []
        for dom, stats in conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE):
            state = int(stats.get("state.state", 0))
            cached = self._facts(dom, dom.UUIDString(), state, now)
            active = state in ACTIVE_STATES
            ips = self._ips(dom, cached, active, now) if ips_for_gpu_holders and cached.facts.hostdevs else ()
            out.append((dom.name(), active, cached.facts, ips))
        out.sort(key=lambda r: r[0])
        return out

    def _facts(self, dom: Any, uuid: str, state: int, now: float) -> _Cached:
        with self._lock:
            cached = self._cache.get(uuid)
        if cached is not None and cached.state == state and now - cached.at < self.xml_max_age:
            return cached
        self.xml_reads += 1
        fresh = _Cached(facts=parse_facts(dom.XMLDesc()), state=state, at=now)
        with self._lock:
            self._cache[uuid] = fresh
        return fresh

    def _ips(self, dom: Any, cached: _Cached, active: bool, now: float) -> tuple[str, ...]:
        if not active:
            return ()
        if cached.ips and now - cached.ips_at < self.ip_max_age:
            return cached.ips
        cached.ips = domain_ips(dom)
        cached.ips_at = now
        return cached.ips


def _autostart(dom: Any) -> bool:
    try:
        return bool(dom.autostart())
    except Exception:
        return False


def domain_ips(dom: Any) -> tuple[str, ...]:
    """DHCP leases of libvirt networks first, then the guest agent; IPv4 before IPv6."""
    import libvirt

    ips: list[str] = []
    for source in (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT):
        try:
            ifaces = dom.interfaceAddresses(source)
        except libvirt.libvirtError:
            continue
        for name, iface in sorted((ifaces or {}).items()):
            if name == "lo":
                continue
            for addr in iface.get("addrs") or []:
                if addr.get("addr") and addr["addr"] not in ips:
                    ips.append(addr["addr"])
        if ips:
            break
    return tuple(sorted(ips, key=lambda a: (":" in a, a)))


def read_domains(conn: Any, host: str, meter: CpuMeter | None = None) -> list[VmItem]:
    """One-off read (no caches kept)."""
    reader = DomainReader(host)
    if meter is not None:
        reader.meter = meter
    return reader.read(conn)


def read_domain_claims(conn: Any) -> list[Any]:
    """Every domain as a placement.DomainClaim: running ones by their live XML, the others by
    their persistent definition (what they will hold when started)."""
    from cockpit.placement import DomainClaim

    out = []
    for dom in conn.listAllDomains():
        active = bool(dom.isActive())
        xml = dom.XMLDesc() if active else dom.XMLDesc(XML_INACTIVE)
        out.append(DomainClaim(dom.name(), active, parse_hostdevs(xml)))
    out.sort(key=lambda c: c.vm)
    return out
