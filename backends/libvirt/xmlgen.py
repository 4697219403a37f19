"""Domain, network, volume and pool XML from the jinja2 templates in provisioning/templates."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import jinja2

from cockpit import paths

TEMPLATES = paths.PROVISIONING_DIR / "templates"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # names and paths end up in XML: escape them
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class HostdevSpec:
    address: str  # 0000:41:00.0
    rom_bar: bool | None = None  # True on a GPU's primary function
    managed: bool = True

    @property
    def domain(self) -> str:
        return self.address.split(":")[0]

    @property
    def bus(self) -> str:
        return self.address.split(":")[1]

    @property
    def slot(self) -> str:
        return self.address.split(":")[2].split(".")[0]

    @property
    def function(self) -> str:
        return self.address.split(".")[1]


@dataclass(frozen=True)
class DiskSpec:
    path: str
    format: str = "qcow2"
    target: str = "vda"


@dataclass(frozen=True)
class InterfaceSpec:
    network: str
    mac: str


@dataclass(frozen=True)
class VirtioFsSpec:
    tag: str
    host_path: str
    readonly: bool = False


@dataclass(frozen=True)
class DomainSpec:
    name: str
    memory_mib: int
    vcpus: int
    domain_type: str = "kvm"
    uuid: str | None = None
    description: str | None = None
    machine: str = "q35"
    cpu_mode: str | None = "host-passthrough"
    cpu_topology: tuple[int, int, int] | None = None  # sockets, cores, threads
    cpu_features: tuple[tuple[str, str], ...] = ()  # (require|disable, name)
    hugepages: bool = False
    hugepage_kib: int = 2048
    cpu_pins: tuple[tuple[int, str], ...] = ()
    disks: tuple[DiskSpec, ...] = ()
    interfaces: tuple[InterfaceSpec, ...] = ()
    virtiofs: tuple[VirtioFsSpec, ...] = ()
    hostdevs: tuple[HostdevSpec, ...] = ()
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    emulator: str | None = None
    serial_log: str | None = None
    on_reboot: str = "restart"
    balloon: bool = True


def render_domain(spec: DomainSpec) -> str:
    return environment().get_template("domain.xml.j2").render(d=spec)


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    bridge: str
    subnet: ipaddress.IPv4Network
    gateway: str
    dhcp_start: str
    dhcp_end: str
    hosts: tuple[tuple[str, str, str], ...] = ()

    @property
    def netmask(self) -> str:
        return str(self.subnet.netmask)


def render_network(spec: NetworkSpec | Any) -> str:
    return environment().get_template("network.xml.j2").render(n=spec)


@dataclass(frozen=True)
class VolumeSpec:
    name: str
    capacity_bytes: int
    backing_path: str | None = None
    backing_format: str = "qcow2"


def render_volume(spec: VolumeSpec) -> str:
    return environment().get_template("volume.xml.j2").render(v=spec)


@dataclass(frozen=True)
class PoolSpec:
    name: str
    path: str


def render_pool(spec: PoolSpec) -> str:
    return environment().get_template("pool.xml.j2").render(p=spec)


def gpu_hostdevs(devices: Any) -> tuple[HostdevSpec, ...]:
    """Config passthrough devices -> hostdevs; ROM BAR on for GPU functions (upstream lists the
    GPU's primary function first for that reason), left to the default for audio & co."""
    return tuple(HostdevSpec(address=d.pci_address, rom_bar=True if d.device_type == "gpu" else None) for d in devices)


__all__ = ["DomainSpec", "HostdevSpec", "DiskSpec", "InterfaceSpec", "VirtioFsSpec", "NetworkSpec", "VolumeSpec",
           "PoolSpec", "render_domain", "render_network", "render_volume", "render_pool", "gpu_hostdevs", "field"]
