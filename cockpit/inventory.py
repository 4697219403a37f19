"""Ansible inventory generated from the cockpit config (pure: no I/O except `write_inventory`).

Groups (names follow upstream ai-how's generator, plus what our playbooks and Kubespray expect):

    hpc                 children: hpc_controllers, hpc_compute_nodes (CPU only), hpc_gpu_nodes
    slurm_compute       children: hpc_compute_nodes, hpc_gpu_nodes (every node running slurmd)
    beegfs_management, beegfs_metadata, beegfs_storage, beegfs_client   (when BeeGFS is enabled)
    k8s_cluster         children: kube_control_plane, kube_node   (Kubespray's layout)
    etcd                the control plane (Kubespray's stacked etcd)
    cloud_gpu_nodes     GPU workers of the cloud cluster
    gpu_nodes           children: hpc_gpu_nodes, cloud_gpu_nodes (NVIDIA driver)
    mlflow_server       where the MLflow tracking server goes (cloud control plane, else HPC controller)

Host names are `<cluster name>-<node name>`: the VM names. A host's `ansible_host` is its live
address from the `vms` snapshot when the VM reports one, else the configured `ip`/`ip_address`.
SLURM node names are the node names (`controller`, `compute-01`, ...), GPU counts come from the
PCIe passthrough devices of type gpu, and partitions are derived from `slurm_config`.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from cockpit.config import CloudCluster, CockpitConfig, HpcCluster, NodeSpec

FORMATS = ("yaml", "ini")


class InventoryError(ValueError):
    """The config cannot make a valid inventory; the message names the config path."""


@dataclass(frozen=True)
class InventoryOptions:
    ssh_user: str | None = None
    ssh_key: str | None = None
    python_interpreter: str | None = "/usr/bin/python3"
    # VM name -> addresses reported by libvirt (the `vms` snapshot's `name` and `ips`).
    live_ips: Mapping[str, Iterable[str]] = field(default_factory=dict)


@dataclass
class Inventory:
    data: dict[str, Any]  # Ansible's YAML inventory tree, rooted at `all`
    warnings: list[str] = field(default_factory=list)

    def groups(self) -> dict[str, dict[str, Any]]:
        """Every group by name (flattened), as in the tree."""
        found: dict[str, dict[str, Any]] = {}

        def walk(name: str, node: dict[str, Any]) -> None:
            found.setdefault(name, node)
            for child, sub in (node.get("children") or {}).items():
                walk(child, sub or {})

        walk("all", self.data["all"])
        return found

    def hosts(self) -> dict[str, dict[str, Any]]:
        """Host name -> its variables (defined once, in its primary group)."""
        out: dict[str, dict[str, Any]] = {}
        for group in self.groups().values():
            for host, hostvars in (group.get("hosts") or {}).items():
                if hostvars:
                    out[host] = hostvars
                else:
                    out.setdefault(host, {})
        return out

    def group_hosts(self, name: str) -> list[str]:
        """Hosts of a group including its children's, in order, without duplicates."""
        groups = self.groups()
        seen: list[str] = []

        def walk(group: str) -> None:
            node = groups.get(group) or {}
            for host in node.get("hosts") or {}:
                if host not in seen:
                    seen.append(host)
            for child in node.get("children") or {}:
                walk(child)

        walk(name)
        return seen


# --------------------------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------------------------
def gpu_count(node: NodeSpec) -> int:
    return sum(1 for d in node.passthrough_devices() if d.device_type == "gpu")


def _pick_ip(addresses: Iterable[str], network: ipaddress.IPv4Network | None) -> str | None:
    v4 = []
    for text in addresses:
        try:
            addr = ipaddress.ip_address(str(text).split("/")[0])
        except ValueError:
            continue
        if addr.version == 4 and not addr.is_loopback:
            v4.append(addr)
    if network is not None:
        inside = [a for a in v4 if a in network]
        if inside:
            return str(inside[0])
    return str(v4[0]) if v4 else None


@dataclass
class _Resolver:
    options: InventoryOptions
    warnings: list[str]

    def host_vars(self, host: str, node: NodeSpec, where: str, network: Any) -> dict[str, Any]:
        live = None
        for vm_name in (host, node.name):
            if vm_name and vm_name in self.options.live_ips:
                live = _pick_ip(self.options.live_ips[vm_name], network.subnet if network else None)
                if live:
                    break
        out: dict[str, Any] = {}
        if live:
            out["ansible_host"] = live
            out["ip_source"] = "live"
        elif node.address:
            out["ansible_host"] = node.address
            out["ip_source"] = "config"
        else:
            self.warnings.append(f"{where}: no address (DHCP and the VM reports none yet); "
                                 f"Ansible will resolve {host!r} by name")
            out["ip_source"] = "none"
        out["vm_name"] = host
        out["cpu_cores"] = node.cpu_cores
        out["memory_gb"] = node.memory_gb
        gpus = [d for d in node.passthrough_devices() if d.device_type == "gpu"]
        out["gpu_count"] = len(gpus)
        if gpus:
            out["gpu_pci_addresses"] = [d.pci_address for d in gpus]
        return out


def _check_name(host: str, where: str, seen: dict[str, str]) -> None:
    if host in seen:
        raise InventoryError(f"{where}: host name {host!r} is also used by {seen[host]}")
    seen[host] = where


def slurm_real_memory_mb(memory_gb: int) -> int:
    """RealMemory a little under the VM's RAM: slurmd drains a node that reports less than this."""
    total = memory_gb * 1024
    return max(256, total - max(512, total // 10))


def slurm_partitions(hpc: HpcCluster, compute: list[tuple[str, NodeSpec]], warnings: list[str]) -> list[dict[str, Any]]:
    """One entry per configured partition. A partition named like 'gpu' gets the GPU nodes, one
    named 'cpu' the CPU-only nodes, any other name every compute node."""
    cfg = hpc.slurm_config
    all_nodes = [name for name, _ in compute]
    gpu_nodes = [name for name, node in compute if gpu_count(node)]
    cpu_nodes = [name for name, node in compute if not gpu_count(node)]
    default = cfg.default_partition or cfg.partitions[0]
    out = []
    for index, name in enumerate(cfg.partitions):
        lowered = name.lower()
        if "gpu" in lowered:
            nodes, kind = gpu_nodes, "GPU"
        elif lowered in ("cpu", "cpu_only", "cpu-only"):
            nodes, kind = cpu_nodes, "CPU-only"
        else:
            nodes, kind = all_nodes, None
        if kind and not nodes:
            warnings.append(f"clusters -> hpc -> slurm_config -> partitions[{index}]: partition {name!r} "
                            f"has no {kind} nodes; it gets every compute node")
            nodes = all_nodes
        if not nodes:
            warnings.append(f"clusters -> hpc -> slurm_config -> partitions[{index}]: partition {name!r} has no nodes")
        out.append({"name": name, "nodes": list(nodes), "default": name == default,
                    "max_time": cfg.max_job_time or "INFINITE"})
    return out


def _hpc(hpc: HpcCluster, r: _Resolver, seen: dict[str, str], root: dict[str, Any]) -> dict[str, str]:
    """Fill the HPC groups; returns node name -> host name for BeeGFS placement."""
    base = "clusters -> hpc"
    controllers: dict[str, Any] = {}
    cpu: dict[str, Any] = {}
    gpu: dict[str, Any] = {}
    by_node: dict[str, str] = {}

    ctl_node = hpc.controller.name or "controller"
    ctl_host = f"{hpc.name}-{ctl_node}"
    _check_name(ctl_host, f"{base} -> controller", seen)
    controllers[ctl_host] = {**r.host_vars(ctl_host, hpc.controller, f"{base} -> controller", hpc.network),
                             "slurm_node_name": ctl_node, "node_role": "controller"}
    by_node[ctl_node] = by_node[ctl_host] = ctl_host

    compute: list[tuple[str, NodeSpec]] = []
    gres_lines: list[str] = []
    for index, node in enumerate(hpc.compute_node_list()):
        node_name = node.name or f"compute-{index + 1:02d}"
        host = f"{hpc.name}-{node_name}"
        where = f"{base} -> compute_nodes[{index}]"
        _check_name(host, where, seen)
        hv = {**r.host_vars(host, node, where, hpc.network), "slurm_node_name": node_name,
              "slurm_cpus": node.cpu_cores, "slurm_real_memory": slurm_real_memory_mb(node.memory_gb)}
        count = gpu_count(node)
        if count:
            hv.update(node_role="gpu_compute", slurm_gres=f"gpu:{count}")
            gpu[host] = hv
            gres_lines.append(f"NodeName={node_name} Name=gpu Count={count}")
        else:
            hv["node_role"] = "compute"
            cpu[host] = hv
        compute.append((node_name, node))
        by_node[node_name] = by_node[host] = host

    children: dict[str, Any] = {"hpc_controllers": {"hosts": controllers}}
    if cpu:
        children["hpc_compute_nodes"] = {"hosts": cpu}
    if gpu:
        children["hpc_gpu_nodes"] = {"hosts": gpu}
    beegfs = hpc.storage.beegfs if hpc.storage else None
    hpc_vars: dict[str, Any] = {
        "cluster_name": hpc.name,
        "slurm_cluster_name": hpc.name.replace("-", "_").lower(),
        "slurm_controller_host": ctl_host,
        "slurm_controller_name": ctl_node,
        "slurm_partitions": slurm_partitions(hpc, compute, r.warnings),
        "beegfs_enabled": bool(beegfs and beegfs.enabled),
    }
    if beegfs and beegfs.enabled:
        hpc_vars["beegfs_mount_point"] = beegfs.mount_point
    if hpc.network:
        hpc_vars["hpc_subnet"] = str(hpc.network.subnet)
    if not compute:
        r.warnings.append(f"{base} -> compute_nodes: no compute nodes; SLURM will have no nodes to run jobs on")
    root["hpc"] = {"vars": hpc_vars, "children": children}
    slurm_children = {g: {} for g in ("hpc_compute_nodes", "hpc_gpu_nodes") if g in children}
    if slurm_children:
        root["slurm_compute"] = {"children": slurm_children}
    if beegfs and beegfs.enabled:
        _beegfs(beegfs, ctl_host, [by_node[n] for n, _ in compute], by_node, r, root)
    return by_node


def _beegfs(cfg: Any, ctl_host: str, compute_hosts: list[str], by_node: dict[str, str], r: _Resolver,
            root: dict[str, Any]) -> None:
    base = "clusters -> hpc -> storage -> beegfs"

    def resolve(names: list[str], where: str) -> list[str]:
        hosts = []
        for index, name in enumerate(names):
            if name not in by_node:
                raise InventoryError(f"{base} -> {where}[{index}]: {name!r} is not an HPC node "
                                     f"(known: {', '.join(sorted(set(by_node)))})")
            hosts.append(by_node[name])
        return hosts

    mgmt = resolve([cfg.management_node], "management_node") if cfg.management_node else [ctl_host]
    meta = resolve(cfg.metadata_nodes, "metadata_nodes") or [ctl_host]
    storage = resolve(cfg.storage_nodes, "storage_nodes") or (compute_hosts or [ctl_host])
    for group, hosts in (("beegfs_management", mgmt), ("beegfs_metadata", meta), ("beegfs_storage", storage),
                         ("beegfs_client", [ctl_host, *compute_hosts])):
        root[group] = {"hosts": {h: None for h in dict.fromkeys(hosts)}}


def _cloud(cloud: CloudCluster, r: _Resolver, seen: dict[str, str], root: dict[str, Any]) -> str:
    base = "clusters -> cloud"
    cp_node = cloud.control_plane.name or "control-plane"
    cp_host = f"{cloud.name}-{cp_node}"
    _check_name(cp_host, f"{base} -> control_plane", seen)
    control = {cp_host: {**r.host_vars(cp_host, cloud.control_plane, f"{base} -> control_plane", cloud.network),
                         "node_role": "control_plane"}}
    workers: dict[str, Any] = {}
    gpu_workers: list[str] = []
    for pool, nodes in cloud.worker_nodes.items():
        for index, node in enumerate(nodes):
            node_name = node.name or f"{pool}-worker-{index + 1:02d}"
            host = f"{cloud.name}-{node_name}"
            where = f"{base} -> worker_nodes -> {pool}[{index}]"
            _check_name(host, where, seen)
            hv = {**r.host_vars(host, node, where, cloud.network), "node_role": f"{node.worker_type}_worker"}
            if node.worker_type == "gpu" or gpu_count(node):
                hv["node_labels"] = {"nvidia.com/gpu.present": "true"}
                gpu_workers.append(host)
            workers[host] = hv
    if not workers:
        # Kubespray needs at least one kube_node: the control plane then also runs workloads.
        r.warnings.append(f"{base} -> worker_nodes: no workers; the control plane also runs pods")
        workers[cp_host] = None
    k8s = cloud.kubernetes_config
    root["k8s_cluster"] = {
        # Kubespray's own variable names.
        "vars": {"kube_network_plugin": k8s.cni,
                 "ingress_nginx_enabled": k8s.ingress == "nginx",
                 "local_path_provisioner_enabled": k8s.storage_class == "local-path"},
        "children": {"kube_control_plane": {"hosts": control}, "kube_node": {"hosts": workers}},
    }
    root["etcd"] = {"hosts": {cp_host: None}}
    if gpu_workers:
        root["cloud_gpu_nodes"] = {"hosts": {h: None for h in gpu_workers}}
    return cp_host


def build_inventory(config: CockpitConfig, options: InventoryOptions = InventoryOptions()) -> Inventory:
    """The inventory for every configured cluster. Raises InventoryError on contradictions."""
    warnings: list[str] = []
    r = _Resolver(options, warnings)
    seen: dict[str, str] = {}
    root: dict[str, Any] = {}
    clusters = config.clusters
    if clusters.hpc is None and clusters.cloud is None:
        raise InventoryError("clusters: neither hpc nor cloud is configured; nothing to put in an inventory")
    ctl_host = None
    if clusters.hpc is not None:
        _hpc(clusters.hpc, r, seen, root)
        ctl_host = f"{clusters.hpc.name}-{clusters.hpc.controller.name or 'controller'}"
    cp_host = None
    if clusters.cloud is not None:
        cp_host = _cloud(clusters.cloud, r, seen, root)
    gpu_children = {g: {} for g in ("hpc_gpu_nodes", "cloud_gpu_nodes")
                    if g in root or g in root.get("hpc", {}).get("children", {})}
    if gpu_children:
        root["gpu_nodes"] = {"children": gpu_children}
    root["mlflow_server"] = {"hosts": {cp_host or ctl_host: None}}
    all_vars: dict[str, Any] = {}
    if options.ssh_user:
        all_vars["ansible_user"] = options.ssh_user
    if options.ssh_key:
        all_vars["ansible_ssh_private_key_file"] = options.ssh_key
    if options.python_interpreter:
        all_vars["ansible_python_interpreter"] = options.python_interpreter
    tree: dict[str, Any] = {"all": {"children": root}}
    if all_vars:
        tree["all"]["vars"] = all_vars
    return Inventory(data=tree, warnings=warnings)


def live_ips_from_vms(items: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """VM name -> addresses, from the `vms` snapshot's items (models or their JSON)."""
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        name = item.get("name") if isinstance(item, Mapping) else getattr(item, "name", None)
        ips = item.get("ips") if isinstance(item, Mapping) else getattr(item, "ips", ())
        if name and ips:
            out[name] = tuple(out.get(name, ())) + tuple(ips)
    return out


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    pass


# `hosts: {name: }` reads better than `name: null`; Ansible accepts both.
_Dumper.add_representer(type(None), lambda d, _: d.represent_scalar("tag:yaml.org,2002:null", ""))


def to_yaml(inventory: Inventory) -> str:
    header = "# Generated by `cockpit inventory` from the cockpit config; edits are overwritten.\n"
    return header + yaml.dump(inventory.data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def _ini_value(value: Any, inline: bool) -> str:
    """Ansible reads INI values as Python literals when they parse as one, else as strings.
    Inline host variables are shell-split first (quotes removed); `[group:vars]` lines are not.
    Write every value so that Ansible reads back exactly what the YAML form says."""
    if isinstance(value, str) and _plain(value):
        return value
    text = repr(_pythonish(value))
    if not inline:
        return text
    return json.dumps(text, ensure_ascii=False) if any(c in text for c in " \t#;'\"=\\") else text


def _plain(text: str) -> bool:
    """A string that reads back as itself when written bare."""
    import ast

    if not text or text != text.strip() or any(c in text for c in " \t#;'\"=\\"):
        return False
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return True
    return False  # "1.0", "True", "[x]" would change type


def _pythonish(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _pythonish(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pythonish(v) for v in value]
    return value


def to_ini(inventory: Inventory) -> str:
    groups = inventory.groups()
    out = io.StringIO()
    out.write("# Generated by `cockpit inventory` from the cockpit config; edits are overwritten.\n")
    for name, node in groups.items():
        if name == "all":
            continue
        members = node.get("hosts") or {}
        if members:
            out.write(f"\n[{name}]\n")
            for host, hostvars in members.items():
                pairs = "".join(f" {k}={_ini_value(v, True)}" for k, v in (hostvars or {}).items())
                out.write(f"{host}{pairs}\n")
        children = node.get("children") or {}
        if children:
            out.write(f"\n[{name}:children]\n")
            out.writelines(f"{child}\n" for child in children)
        if node.get("vars"):
            out.write(f"\n[{name}:vars]\n")
            out.writelines(f"{k}={_ini_value(v, False)}\n" for k, v in node["vars"].items())
        if not members and not children:
            out.write(f"\n[{name}]\n")
    if groups["all"].get("vars"):
        out.write("\n[all:vars]\n")
        out.writelines(f"{k}={_ini_value(v, False)}\n" for k, v in groups["all"]["vars"].items())
    return out.getvalue()


def render(inventory: Inventory, fmt: str) -> str:
    if fmt == "yaml":
        return to_yaml(inventory)
    if fmt == "ini":
        return to_ini(inventory)
    raise InventoryError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")


def write_inventory(text: str, path: str | os.PathLike[str]) -> Path:
    """Write atomically (temp file + rename in the same directory): a reader never sees half a file,
    and a failed write leaves the old inventory in place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
