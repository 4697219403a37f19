"""The `gpus` source: PCI display devices per libvirt host, who holds them, what is wrong with
that, and live numbers (host NVML, or nvidia-smi inside the guest that holds a passed GPU).

Inventory per host: libvirt node devices (remote hosts and the test driver too); for the local
host, sysfs fills in what node devices lack. Conflicts are decided in cockpit.placement.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

from backends.gpus.guest import GuestGpus, GuestTelemetry
from backends.gpus.models import GpuItem, NvmlReading
from backends.gpus.nodedevs import PciDevice, read_pci_nodedevs
from backends.gpus.nvml import NvmlReader
from backends.gpus.pci_ids import product_name
from backends.gpus.readiness import host_readiness
from backends.gpus.sysfs import read_sysfs_pci
from backends.libvirt.connection import LibvirtHostConnection, shared_connection, test_host_file
from backends.libvirt.domains import DomainReader
from backends.libvirt.source import configured_hosts
from cockpit.source_types import NotConfigured
from cockpit.placement import ConfigClaim, DomainClaim, device_conflicts, holders_by_address
from cockpit.snapshot import FetchResult

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig

HISTORY = 30  # samples kept per GPU for the sparkline


def merge_sysfs(nodedevs: list[PciDevice], sysfs: list[PciDevice]) -> list[PciDevice]:
    """Node devices first; sysfs fills fields they lack and adds devices they miss."""
    by_address = {d.address: d for d in nodedevs}
    for s in sysfs:
        d = by_address.get(s.address)
        if d is None:
            by_address[s.address] = s
            continue
        by_address[s.address] = replace(
            d,
            driver=d.driver or s.driver,
            iommu_group=d.iommu_group if d.iommu_group is not None else s.iommu_group,
            iommu_members=d.iommu_members or s.iommu_members,
            numa_node=d.numa_node if d.numa_node is not None else s.numa_node,
            product=d.product or s.product,
        )
    return sorted(by_address.values(), key=lambda d: d.address)


def display_name(dev: PciDevice) -> str:
    return dev.product or product_name(dev.vendor_id, dev.device_id, dev.class_code) or f"{dev.vendor_id}:{dev.device_id}"


def build_items(host: str, devices: Sequence[PciDevice], domains: Sequence[DomainClaim],
                readings: dict[str, NvmlReading], claims: Sequence[ConfigClaim] = ()) -> list[GpuItem]:
    holders = holders_by_address(domains)
    claims_by_address: dict[str, list[ConfigClaim]] = collections.defaultdict(list)
    for claim in claims:
        claims_by_address[claim.address].append(claim)
    items = []
    for dev in devices:
        if not dev.is_display:
            continue
        mine = holders.get(dev.address, [])
        running = [h.vm for h in mine if h.running]
        functions = tuple(d.address for d in devices if d.slot == dev.slot and d.address != dev.address)
        items.append(GpuItem(
            pci_address=dev.address,
            host=host,
            name=display_name(dev),
            vendor_id=dev.vendor_id,
            device_id=dev.device_id,
            iommu_group=dev.iommu_group,
            iommu_members=dev.iommu_members,
            numa_node=dev.numa_node,
            host_driver=dev.driver,
            functions=tuple(sorted(functions)),
            assigned_to=running[0] if running else (mine[0].vm if mine else None),
            holders=tuple(h.vm for h in mine),
            nvml=readings.get(dev.address),
            conflicts=tuple(device_conflicts(dev, devices, holders, claims_by_address)),
        ))
    items.sort(key=lambda i: i.pci_address)
    return items


def config_problems(host: str, devices: Sequence[PciDevice], claims: Sequence[ConfigClaim]) -> list[str]:
    known = {d.address for d in devices}
    return [f"{c.vm} ({c.cluster}): {c.address} is not a PCI device on host {host}" for c in claims if c.address not in known]


class GpuSource:
    name = "gpus"

    def __init__(self, hosts: dict[str, str], nvml: bool | NvmlReader = True, *, sysfs_root: str | None = None,
                 sysfs_host: str | None = None, guest: GuestTelemetry | None = None,
                 claims: Sequence[ConfigClaim] = (), readiness_root: str | None = None,
                 guest_hosts: Sequence[str] | None = None) -> None:
        self.hosts = {name: shared_connection(name, uri) for name, uri in hosts.items()}
        self.readers = {name: DomainReader(name) for name in hosts}
        self.nvml = nvml if isinstance(nvml, NvmlReader) else (NvmlReader() if nvml else None)
        self.sysfs_root = sysfs_root
        self.guest = guest
        self.claims = list(claims)
        self.readiness_root = readiness_root
        # The host whose sysfs/NVML/readiness are this machine's: named, else the one local
        # qemu:/// host. A test-driver host is never this machine unless named.
        self.local_host = sysfs_host or next(
            (n for n, h in self.hosts.items() if h.is_local and not h.is_test), None)
        self._history: dict[str, collections.deque[int]] = {}
        # Hosts whose guests we ask over SSH: by default not test-driver hosts (their IPs are made up).
        self.guest_hosts = set(guest_hosts) if guest_hosts is not None else {
            n for n, h in self.hosts.items() if not h.is_test}

    def _read_host(self, host: LibvirtHostConnection) -> tuple[list[PciDevice], list[tuple[str, bool, Any, tuple[str, ...]]]]:
        reader = self.readers[host.name]

        def read(conn: Any) -> tuple[list[PciDevice], list[tuple[str, bool, Any, tuple[str, ...]]]]:
            devices = read_pci_nodedevs(conn, test_host_file(host.uri))
            want_ips = self.guest is not None and host.name in self.guest_hosts
            return devices, reader.read_claims(conn, ips_for_gpu_holders=want_ips)

        return host.run(read)

    async def fetch(self) -> FetchResult:
        host_reads = await asyncio.gather(*(asyncio.to_thread(self._read_host, h) for h in self.hosts.values()),
                                          return_exceptions=True)
        readings: dict[str, NvmlReading] = {}
        nvml_error = None
        if self.nvml is not None and self.local_host is not None:
            try:
                readings = await asyncio.to_thread(self.nvml.read)
            except Exception as exc:  # NVML broke mid-run: the inventory still shows
                nvml_error = str(exc)
        sysfs: list[PciDevice] = []
        sysfs_error = None
        if self.sysfs_root is not None and self.local_host is not None:
            try:
                sysfs = await asyncio.to_thread(read_sysfs_pci, self.sysfs_root)
            except OSError as exc:
                sysfs_error = str(exc)
        items: list[GpuItem] = []
        errors: list[str] = []
        problems: list[str] = []
        guests: list[GuestGpus] = []
        per_host: list[tuple[str, list[PciDevice], list[DomainClaim]]] = []
        for host, result in zip(self.hosts.values(), host_reads):
            if isinstance(result, BaseException):
                errors.append(f"{host.name}: {result}")
                continue
            devices, rows = result
            if host.name == self.local_host and sysfs:
                devices = merge_sysfs(devices, sysfs)
            domains = [DomainClaim(name, active, facts.hostdevs) for name, active, facts, _ips in rows]
            per_host.append((host.name, devices, domains))
            display = {d.address for d in devices if d.is_display}
            for name, active, facts, ips in rows:
                gpus = tuple((h.address, h.guest_address) for h in facts.hostdevs if h.address in display)
                if active and gpus and ips and host.name in self.guest_hosts:
                    guests.append(GuestGpus(vm=name, address=ips[0], gpus=gpus))
        guest_readings: dict[str, NvmlReading] = {}
        if self.guest is not None and guests:
            guest_readings = await self.guest.read(guests)
        for host_name, devices, domains in per_host:
            host_readings = dict(readings) if host_name == self.local_host else {}
            host_readings.update(guest_readings)  # a passed GPU is invisible to host NVML anyway
            claims = self.claims if host_name == self._claims_host() else []
            items.extend(self._with_history(build_items(host_name, devices, domains, host_readings, claims)))
            problems.extend(config_problems(host_name, devices, claims))
        if errors and not items:
            raise RuntimeError("; ".join(errors))
        sections: dict[str, Any] = {"host_errors": errors, "nvml": self._nvml_state(nvml_error)}
        if problems:
            sections["config_problems"] = problems
        if self.guest is not None and self.guest.errors:
            sections["guest_errors"] = sorted(self.guest.errors.values())
        if sysfs_error:
            sections["sysfs_error"] = sysfs_error
        if self.readiness_root is not None and self.local_host is not None:
            checks = await asyncio.to_thread(host_readiness, self.readiness_root)
            sections["readiness"] = [c.as_json() for c in checks]
        return FetchResult.of(items, **sections)

    def _claims_host(self) -> str | None:
        """Cluster configs describe the machine the clusters run on: the first configured host."""
        return next(iter(self.hosts), None)

    def _nvml_state(self, error: str | None) -> str:
        if self.nvml is None:
            return "off"
        if self.local_host is None:
            return "not used: no local host"
        if error:
            return f"error: {error}"
        if self.nvml.unavailable:
            return f"absent: {self.nvml.unavailable}"
        return "on"

    def _with_history(self, items: list[GpuItem]) -> list[GpuItem]:
        out = []
        for item in items:
            history = self._history.setdefault(item.key(), collections.deque(maxlen=HISTORY))
            if item.nvml is not None and item.nvml.utilization_pct is not None:
                history.append(int(item.nvml.utilization_pct))
            out.append(item.model_copy(update={"util_history": tuple(history)}) if history else item)
        return out

    async def close(self) -> None:
        if self.guest is not None:
            try:
                await self.guest.pool.close()
            except Exception:
                pass


def build_source(loaded: "LoadedConfig") -> Any:
    hosts = configured_hosts(loaded)
    if not hosts:
        raise NotConfigured()
    settings = loaded.config.cockpit.gpus
    guest = None
    if settings.guest_telemetry:
        from backends.ssh.pool import SshPool

        guest = GuestTelemetry(SshPool(connect_timeout=3.0), user=settings.guest_ssh_user)
    try:
        from cockpit.placement import config_claims

        claims = config_claims(loaded.config)
    except Exception:
        claims = []
    local = any(shared_connection(n, u).is_local and not shared_connection(n, u).is_test for n, u in hosts.items())
    return GpuSource(
        hosts,
        nvml=settings.nvml != "off",
        sysfs_root=settings.sysfs_root if (local or settings.sysfs_host) else None,
        sysfs_host=settings.sysfs_host,
        guest=guest,
        claims=claims,
        readiness_root=settings.readiness_root if (local or settings.sysfs_host) else None,
    )
