"""The `gpus` source: PCI display devices per libvirt host, who holds them, and live numbers."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from backends.gpus.models import GpuItem
from backends.gpus.nodedevs import PciDevice, read_pci_nodedevs
from backends.gpus.nvml import NvmlReader
from backends.libvirt.connection import shared_connection
from backends.libvirt.domains import hostdev_addresses
from backends.libvirt.source import configured_hosts
from cockpit.hub import UnconfiguredSource
from cockpit.snapshot import FetchResult
from cockpit.sources import HINTS

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig

HOST_DRIVERS = ("nvidia", "nouveau", "snd_hda_intel", "amdgpu", "radeon")


def read_host(conn: Any) -> tuple[list[PciDevice], list[tuple[str, bool, tuple[str, ...]]]]:
    """PCI devices and (vm name, running, hostdev addresses) for every domain."""
    devices = read_pci_nodedevs(conn)
    domains = [(d.name(), bool(d.isActive()), hostdev_addresses(d.XMLDesc())) for d in conn.listAllDomains()]
    return devices, domains


def build_items(host: str, devices: list[PciDevice], domains: list[tuple[str, bool, tuple[str, ...]]],
                readings: dict[str, Any], name_of: Any = None) -> list[GpuItem]:
    by_address = {d.address: d for d in devices}
    holders: dict[str, list[tuple[str, bool]]] = {}
    for vm, running, addresses in domains:
        for address in addresses:
            holders.setdefault(address, []).append((vm, running))
    items = []
    for dev in devices:
        if not dev.is_display:
            continue
        functions = tuple(sorted(d.address for d in devices if d.slot == dev.slot and d.address != dev.address))
        mine = holders.get(dev.address, [])
        running = [vm for vm, is_running in mine if is_running]
        conflicts: list[str] = []
        if len(running) > 1:
            conflicts.append(f"held by {len(running)} running VMs at once: {', '.join(running)}")
        if mine and dev.driver in HOST_DRIVERS:
            conflicts.append(f"assigned to {mine[0][0]} but bound to host driver {dev.driver}, not vfio-pci")
        owners = {vm for member in dev.iommu_members for vm, _ in holders.get(member, [])}
        owner_set = {vm for vm, _ in mine}
        if dev.iommu_members and owners and owners != owner_set and len(owners | owner_set) > 1:
            conflicts.append(f"IOMMU group {dev.iommu_group} is split between {', '.join(sorted(owners | owner_set))}")
        assigned = running[0] if running else (mine[0][0] if mine else None)
        items.append(
            GpuItem(
                pci_address=dev.address,
                host=host,
                name=(name_of(dev) if name_of else None) or dev.product or f"{dev.vendor_id}:{dev.device_id}",
                vendor_id=dev.vendor_id,
                device_id=dev.device_id,
                iommu_group=dev.iommu_group,
                numa_node=dev.numa_node,
                host_driver=dev.driver,
                functions=functions,
                assigned_to=assigned,
                holders=tuple(vm for vm, _ in mine),
                nvml=readings.get(dev.address),
                conflicts=tuple(conflicts),
            )
        )
    _ = by_address
    return items


class GpuSource:
    name = "gpus"

    def __init__(self, hosts: dict[str, str], nvml: bool = True) -> None:
        self.hosts = {name: shared_connection(name, uri) for name, uri in hosts.items()}
        self.nvml = NvmlReader() if nvml else None

    async def fetch(self) -> FetchResult:
        host_reads = await asyncio.gather(*(h.call(read_host) for h in self.hosts.values()), return_exceptions=True)
        readings = await asyncio.to_thread(self.nvml.read) if self.nvml else {}
        items: list[GpuItem] = []
        errors = []
        for host, result in zip(self.hosts.values(), host_reads):
            if isinstance(result, BaseException):
                errors.append(f"{host.name}: {result}")
                continue
            devices, domains = result
            # Host NVML only describes the local machine: attach readings to local hosts only.
            local = host.uri.startswith(("qemu:///", "test://")) or len(self.hosts) == 1
            items.extend(build_items(host.name, devices, domains, readings if local else {}))
        if errors and not items:
            raise RuntimeError("; ".join(errors))
        nvml_state = "absent: " + self.nvml.unavailable if self.nvml and self.nvml.unavailable else ("on" if self.nvml else "off")
        return FetchResult.of(items, nvml=nvml_state, host_errors=errors)


def build_source(loaded: "LoadedConfig") -> Any:
    hosts = configured_hosts(loaded)
    if not hosts:
        return UnconfiguredSource("gpus", HINTS["gpus"])
    return GpuSource(hosts, nvml=loaded.config.cockpit.gpus.nvml != "off")
