"""Cluster plans: which VMs, networks and disks a cluster of the config needs, in which order,
and every reason not to create them (checked before anything is created).

VM names follow the upstream ai-how convention: `<cluster>-controller`, `<cluster>-compute-01`,
`<cluster>-control-plane`, `<cluster>-<group>-worker-01`; a node's own `name` replaces the part
after the cluster name.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Literal

if TYPE_CHECKING:  # annotations only: the GPU map reaches this module from the screen's first frame
    from cockpit.config import CloudCluster, CockpitConfig, HpcCluster, NodeSpec, PcieDevice

Kind = Literal["hpc", "cloud"]


@dataclass(frozen=True)
class VmPlan:
    kind: Kind
    cluster: str  # cluster name (hpc-cluster)
    name: str  # VM (libvirt domain) name
    role: str  # controller | compute | control-plane | worker
    path: str  # where in the config: clusters -> hpc -> compute_nodes[0]
    spec: NodeSpec
    base_image: str | None
    mac: str
    ip: str | None
    devices: tuple[PcieDevice, ...] = ()

    @property
    def auto_start(self) -> bool:
        return self.spec.auto_start

    @property
    def disk_name(self) -> str:
        return f"{self.name}.qcow2"


@dataclass(frozen=True)
class NetworkPlan:
    name: str
    bridge: str
    subnet: ipaddress.IPv4Network
    gateway: str
    dhcp_start: str
    dhcp_end: str
    hosts: tuple[tuple[str, str, str], ...]  # (mac, vm name, ip)


@dataclass(frozen=True)
class ClusterPlan:
    kind: Kind
    name: str
    network: NetworkPlan | None  # None: VMs join libvirt's 'default' network
    vms: tuple[VmPlan, ...]

    @property
    def network_name(self) -> str:
        return self.network.name if self.network else "default"

    def start_order(self) -> list[VmPlan]:
        return [vm for vm in self.vms if vm.auto_start]

    def stop_order(self) -> list[VmPlan]:
        return list(reversed(self.vms))

    def summary(self) -> dict[str, Any]:
        return {
            "cluster": self.name, "kind": self.kind, "network": self.network_name,
            "vms": [{"name": vm.name, "role": vm.role, "auto_start": vm.auto_start, "ip": vm.ip,
                     "gpus": [d.pci_address for d in vm.devices]} for vm in self.vms],
        }


def mac_for(name: str) -> str:
    """A stable locally administered MAC in QEMU's 52:54:00 range, derived from the VM name."""
    digest = hashlib.sha256(name.encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def _vm(kind: Kind, cluster: Any, role: str, suffix: str, path: str, spec: NodeSpec) -> VmPlan:
    name = f"{cluster.name}-{spec.name or suffix}"
    return VmPlan(kind=kind, cluster=cluster.name, name=name, role=role, path=path, spec=spec,
                  base_image=spec.base_image_path or cluster.base_image_path, mac=spec.mac_address or mac_for(name),
                  ip=spec.address, devices=tuple(spec.passthrough_devices()))


def _hpc_vms(hpc: HpcCluster) -> list[VmPlan]:
    base = "clusters -> hpc"
    vms = [_vm("hpc", hpc, "controller", "controller", f"{base} -> controller", hpc.controller)]
    if isinstance(hpc.compute_nodes, list):
        for i, node in enumerate(hpc.compute_nodes):
            vms.append(_vm("hpc", hpc, "compute", f"compute-{i + 1:02d}", f"{base} -> compute_nodes[{i}]", node))
    else:
        for i, node in enumerate(hpc.compute_node_list()):
            vms.append(_vm("hpc", hpc, "compute", f"compute-{i + 1:02d}", f"{base} -> compute_nodes", node))
    return vms


def _cloud_vms(cloud: CloudCluster) -> list[VmPlan]:
    base = "clusters -> cloud"
    vms = [_vm("cloud", cloud, "control-plane", "control-plane", f"{base} -> control_plane", cloud.control_plane)]
    for group, workers in cloud.worker_nodes.items():
        for i, node in enumerate(workers):
            vms.append(_vm("cloud", cloud, "worker", f"{group}-worker-{i + 1:02d}",
                           f"{base} -> worker_nodes -> {group}[{i}]", node))
    return vms


def _network(cluster: Any, vms: list[VmPlan]) -> NetworkPlan | None:
    if cluster.network is None:
        return None
    subnet = cluster.network.subnet
    hosts = list(subnet.hosts())
    gateway = str(hosts[0])
    # Static leases for VMs with an IP; the dynamic range takes the upper half of the subnet.
    start = hosts[len(hosts) // 2] if len(hosts) > 4 else hosts[-1]
    return NetworkPlan(name=f"{cluster.name}-net", bridge=cluster.network.bridge, subnet=subnet, gateway=gateway,
                       dhcp_start=str(start), dhcp_end=str(hosts[-1]),
                       hosts=tuple((vm.mac, vm.name, vm.ip) for vm in vms if vm.ip))


def plan_cluster(config: CockpitConfig, kind: str) -> ClusterPlan:
    if kind == "hpc":
        if config.clusters.hpc is None:
            raise ValueError("clusters -> hpc: not in the config")
        vms = _hpc_vms(config.clusters.hpc)
        return ClusterPlan("hpc", config.clusters.hpc.name, _network(config.clusters.hpc, vms), tuple(vms))
    if kind == "cloud":
        if config.clusters.cloud is None:
            raise ValueError("clusters -> cloud: not in the config")
        vms = _cloud_vms(config.clusters.cloud)
        return ClusterPlan("cloud", config.clusters.cloud.name, _network(config.clusters.cloud, vms), tuple(vms))
    raise ValueError(f"unknown cluster {kind!r} (known: hpc, cloud)")


def all_plans(config: CockpitConfig) -> list[ClusterPlan]:
    return [plan_cluster(config, k) for k in ("hpc", "cloud") if getattr(config.clusters, k) is not None]


def config_vms(config: CockpitConfig) -> list[VmPlan]:
    return [vm for plan in all_plans(config) for vm in plan.vms]


# ------------------------------------------------------------------------------------------------
# Checks before anything is created
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageFacts:
    exists: bool
    virtual_size: int | None = None  # bytes
    format: str | None = None
    error: str | None = None


@dataclass
class HostFacts:
    """What the target host looks like, gathered by the backend before planning."""

    host: str
    devices: dict[str, Any]  # PCI address -> backends.gpus.nodedevs.PciDevice
    running: dict[str, str]  # PCI address -> running VM holding it
    domains: set[str]  # every defined VM name
    networks: dict[str, str]  # network name -> bridge
    images: dict[str, ImageFacts] = field(default_factory=dict)


def check_plan(plan: ClusterPlan, facts: HostFacts) -> list[str]:
    """Every problem that would make `cluster.up` fail or misbehave, each naming where it is."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for vm in plan.vms:
        for i, dev in enumerate(vm.devices):
            where = f"{vm.path} -> pcie_passthrough -> devices[{i}]"
            host_dev = facts.devices.get(dev.pci_address)
            if host_dev is None:
                gpus = sorted(a for a, d in facts.devices.items() if getattr(d, "is_display", False))
                problems.append(f"{where}: {dev.pci_address} is not a PCI device on host {facts.host}"
                                f" (GPUs there: {', '.join(gpus) or 'none'})")
                continue
            for attr, want in (("vendor_id", dev.vendor_id), ("device_id", dev.device_id)):
                have = getattr(host_dev, attr)
                if want and want != have:
                    problems.append(f"{where}: {attr} {want} does not match the host's device at {dev.pci_address} ({have})")
            if dev.iommu_group is not None and host_dev.iommu_group is not None and dev.iommu_group != host_dev.iommu_group:
                problems.append(f"{where}: iommu_group {dev.iommu_group} does not match the host's group "
                                f"{host_dev.iommu_group} for {dev.pci_address}")
            if dev.pci_address in seen:
                problems.append(f"{where}: {dev.pci_address} is assigned twice in cluster {plan.name}: "
                                f"{seen[dev.pci_address]} and {vm.name}")
            else:
                seen[dev.pci_address] = vm.name
            holder = facts.running.get(dev.pci_address)
            if vm.auto_start and holder and holder not in {v.name for v in plan.vms}:
                problems.append(f"{where}: {dev.pci_address} is held by running VM {holder}; {vm.name} could not "
                                f"start (shut {holder} down first, or set auto_start: false)")
        problems.extend(_image_problems(vm, facts))
    if plan.network is not None:
        for name, bridge in facts.networks.items():
            if bridge == plan.network.bridge and name != plan.network.name:
                problems.append(f"clusters -> {plan.kind} -> network -> bridge: {bridge} is already used by "
                                f"libvirt network {name!r}")
    return problems


def _image_problems(vm: VmPlan, facts: HostFacts) -> list[str]:
    if not vm.base_image:
        return [f"{vm.path} -> base_image_path: no base image for {vm.name} (set it here or on clusters -> {vm.kind})"]
    image = facts.images.get(vm.base_image)
    if image is None or not image.exists:
        reason = f" ({image.error})" if image is not None and image.error else ""
        return [f"{vm.path} -> base_image_path: base image {vm.base_image} does not exist on host {facts.host}{reason}"]
    if image.virtual_size is not None and vm.spec.disk_gb * (1 << 30) < image.virtual_size:
        need = -(-image.virtual_size // (1 << 30))
        return [f"{vm.path} -> disk_gb: {vm.spec.disk_gb} GiB is too little disk: base image {vm.base_image} is "
                f"{image.virtual_size / (1 << 30):.1f} GiB (set disk_gb >= {need})"]
    return []


def images_of(plans: Iterable[ClusterPlan]) -> set[str]:
    return {vm.base_image for plan in plans for vm in plan.vms if vm.base_image}
