"""Creating and removing VMs, networks and overlays on one libvirt host, with a journal so that a
failed multi-step job undoes exactly what it created (nothing half-made left behind).

Every function taking `conn` runs in a worker thread (LibvirtHostConnection.call).
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Callable

from backends.gpus.nodedevs import read_pci_nodedevs
from backends.libvirt.connection import LibvirtHostConnection, test_host_file
from backends.libvirt.domains import ACTIVE_STATES, parse_hostdevs
from backends.libvirt.images import image_facts
from backends.libvirt.xmlgen import (DiskSpec, DomainSpec, InterfaceSpec, NetworkSpec, PoolSpec, VirtioFsSpec,
                                     VolumeSpec, gpu_hostdevs, render_network, render_pool,
                                     render_volume)
from cockpit.clusters import ClusterPlan, HostFacts, VmPlan


class ProvisionError(RuntimeError):
    pass


@dataclass
class Journal:
    """What a job created, newest last, each with the way to undo it."""

    host: LibvirtHostConnection
    done: list[tuple[str, Callable[[Any], None]]] = field(default_factory=list)

    def add(self, what: str, undo: Callable[[Any], None]) -> None:
        self.done.append((what, undo))

    async def rollback(self, progress: Callable[[str], None] = lambda m: None) -> tuple[list[str], list[str]]:
        """Undo newest first; returns (undone, failures). One failing undo does not stop the rest."""
        undone, failures = [], []
        for what, undo in reversed(self.done):
            try:
                await self.host.call(undo)
                undone.append(what)
                progress(f"rolled back: {what}")
            except Exception as exc:
                failures.append(f"{what}: {exc}")
        self.done.clear()
        return undone, failures


# -- facts ----------------------------------------------------------------------------------------
def gather_facts(conn: Any, host: LibvirtHostConnection, images: set[str], pool: str | None = None) -> tuple[HostFacts, set[str]]:
    import libvirt

    devices = {d.address: d for d in read_pci_nodedevs(conn, test_host_file(host.uri))}
    running: dict[str, str] = {}
    domains = set()
    for dom in conn.listAllDomains():
        domains.add(dom.name())
        if dom.isActive():
            for hd in parse_hostdevs(dom.XMLDesc()):
                running.setdefault(hd.address, dom.name())
    networks = {}
    for net in conn.listAllNetworks():
        bridge = ET.fromstring(net.XMLDesc()).find("bridge")
        networks[net.name()] = bridge.get("name") if bridge is not None else ""
    facts = HostFacts(host=host.name, devices=devices, running=running, domains=domains, networks=networks,
                      images={p: image_facts(conn, p, host.is_local) for p in images})
    volumes: set[str] = set()
    if pool:
        try:
            p = conn.storagePoolLookupByName(pool)
            if p.isActive():
                volumes = set(p.listVolumes())
        except libvirt.libvirtError:
            pass
    return facts, volumes


def domain_type_for(host: LibvirtHostConnection, setting: str) -> str:
    if setting != "auto":
        return setting
    if host.is_test:
        return "test"
    if host.is_local:
        return "kvm" if os.path.exists("/dev/kvm") else "qemu"
    return "kvm"


# -- single objects -------------------------------------------------------------------------------
def ensure_pool(conn: Any, name: str, path: str, journal: Journal | None) -> Any:
    import libvirt

    try:
        pool = conn.storagePoolLookupByName(name)
    except libvirt.libvirtError:
        os.makedirs(path, exist_ok=True) if not journal or journal.host.is_local else None
        pool = conn.storagePoolDefineXML(render_pool(PoolSpec(name=name, path=path)), 0)
        if journal is not None:
            journal.add(f"storage pool {name}", lambda c: _remove_pool(c, name))
    if not pool.isActive():
        pool.create(0)
    return pool


def _remove_pool(conn: Any, name: str) -> None:
    pool = conn.storagePoolLookupByName(name)
    if pool.isActive():
        pool.destroy()
    pool.undefine()


def create_overlay(conn: Any, pool_name: str, name: str, base_path: str, capacity_bytes: int,
                   base_format: str = "qcow2") -> str:
    pool = conn.storagePoolLookupByName(pool_name)
    vol = pool.createXML(render_volume(VolumeSpec(name=name, capacity_bytes=capacity_bytes, backing_path=base_path,
                                                  backing_format=base_format)), 0)
    return vol.path()


def delete_volume(conn: Any, pool_name: str, name: str) -> bool:
    import libvirt

    try:
        pool = conn.storagePoolLookupByName(pool_name)
        vol = pool.storageVolLookupByName(name)
    except libvirt.libvirtError:
        return False
    vol.delete(0)
    return True


def ensure_network(conn: Any, spec: NetworkSpec, journal: Journal) -> str:
    import libvirt

    try:
        net = conn.networkLookupByName(spec.name)
    except libvirt.libvirtError:
        net = conn.networkDefineXML(render_network(spec))
        journal.add(f"network {spec.name}", lambda c: _remove_network(c, spec.name))
        net.create()
        return "created"
    if not net.isActive():
        net.create()
        journal.add(f"network {spec.name} started", lambda c: c.networkLookupByName(spec.name).destroy())
        return "started"
    return "exists"


def _remove_network(conn: Any, name: str) -> None:
    net = conn.networkLookupByName(name)
    if net.isActive():
        net.destroy()
    net.undefine()


def define_domain(conn: Any, xml: str) -> str:
    return conn.defineXML(xml).name()


def undefine_domain(conn: Any, name: str) -> None:
    import libvirt

    dom = conn.lookupByName(name)
    if dom.isActive():
        dom.destroy()
    flags = getattr(libvirt, "VIR_DOMAIN_UNDEFINE_NVRAM", 0) | getattr(libvirt, "VIR_DOMAIN_UNDEFINE_MANAGED_SAVE", 0)
    try:
        dom.undefineFlags(flags)
    except libvirt.libvirtError:
        dom.undefine()


def destroy_if_active(conn: Any, name: str) -> None:
    dom = conn.lookupByName(name)
    if dom.isActive():
        dom.destroy()


# -- cluster VMs ----------------------------------------------------------------------------------
def vm_domain_spec(vm: VmPlan, *, domain_type: str, disk_path: str | None, network: str,
                   hardware: dict[str, Any] | None, pin_offset: int = 0, host_cpus: int = 0) -> DomainSpec:
    accel = ((hardware or {}).get("acceleration") or {}) if isinstance(hardware, dict) else {}
    perf = accel.get("performance") or {}
    topology = accel.get("cpu_topology") or None
    cpu_mode: str | None = None
    features: tuple[tuple[str, str], ...] = ()
    if domain_type in ("kvm", "test"):
        model = accel.get("cpu_model") or "host-passthrough"
        cpu_mode = model if model in ("host-passthrough", "host-model") else "host-passthrough"
        features = tuple(("require" if f.startswith("+") else "disable", f[1:]) for f in accel.get("cpu_features") or []
                         if f[:1] in "+-" and f[1:] not in ("vmx", "svm"))  # never force the other vendor's flag
    topo = None
    if topology and all(k in topology for k in ("sockets", "cores", "threads")):
        if topology["sockets"] * topology["cores"] * topology["threads"] == vm.spec.cpu_cores:
            topo = (int(topology["sockets"]), int(topology["cores"]), int(topology["threads"]))
    pins: tuple[tuple[int, str], ...] = ()
    if perf.get("cpu_pinning") and host_cpus:
        pins = tuple((i, str((pin_offset + i) % host_cpus)) for i in range(vm.spec.cpu_cores))
    hugepages = bool(perf.get("enable_hugepages")) or perf.get("memory_backing") == "hugepages"
    return DomainSpec(
        name=vm.name,
        memory_mib=vm.spec.memory_gb * 1024,
        vcpus=vm.spec.cpu_cores,
        domain_type=domain_type,
        description=f"cockpit cluster {vm.cluster} ({vm.kind}) role {vm.role}",
        cpu_mode=cpu_mode,
        cpu_topology=topo,
        cpu_features=features,
        hugepages=hugepages,
        hugepage_kib=1048576 if str(perf.get("hugepage_size", "2M")).upper() == "1G" else 2048,
        cpu_pins=pins,
        disks=(DiskSpec(path=disk_path),) if disk_path else (),
        interfaces=(InterfaceSpec(network=network, mac=vm.mac),),
        virtiofs=tuple(VirtioFsSpec(tag=m.tag, host_path=m.host_path, readonly=m.readonly) for m in vm.spec.virtio_fs_mounts),
        hostdevs=gpu_hostdevs(vm.devices),
    )


def network_spec(plan: ClusterPlan) -> NetworkSpec | None:
    n = plan.network
    if n is None:
        return None
    return NetworkSpec(name=n.name, bridge=n.bridge, subnet=n.subnet, gateway=n.gateway, dhcp_start=n.dhcp_start,
                       dhcp_end=n.dhcp_end, hosts=n.hosts)


def wait_inactive(conn: Any, name: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    dom = conn.lookupByName(name)
    while time.monotonic() < deadline:
        if dom.state()[0] not in ACTIVE_STATES:
            return True
        time.sleep(0.2)
    return dom.state()[0] not in ACTIVE_STATES
