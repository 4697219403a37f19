"""Inventory generation from cockpit configs: groups, SLURM names, GPU counts, partitions,
Kubespray layout, live vs configured IPs, errors naming the config path, YAML and INI output
(checked by Ansible's own `ansible-inventory`: both formats must read back the same)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cockpit.config import load_config, parse_config
from cockpit.inventory import (InventoryError, InventoryOptions, build_inventory, live_ips_from_vms, render,
                               to_ini, to_yaml, write_inventory)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "ansible"
SAMPLES = sorted(p for p in (REPO / "provisioning" / "samples").glob("*.yaml")
                 if (yaml.safe_load(p.read_text()) or {}).get("clusters"))
CONFIGS = [FIXTURES / "hpc_gpu_list.yaml", FIXTURES / "hpc_count_cloud.yaml", FIXTURES / "upstream_multi_gpu.yaml",
           *SAMPLES]


def _inv(name: str, **options):
    return build_inventory(load_config(FIXTURES / name).config, InventoryOptions(**options))


def test_hpc_groups_slurm_names_and_gpu_counts():
    inv = _inv("hpc_gpu_list.yaml")
    assert inv.group_hosts("hpc_controllers") == ["hpc-controller"]
    assert inv.group_hosts("hpc_gpu_nodes") == ["hpc-compute-01", "hpc-compute-02"]
    assert "hpc_compute_nodes" not in inv.groups()  # no CPU-only nodes: no empty group
    assert inv.group_hosts("slurm_compute") == ["hpc-compute-01", "hpc-compute-02"]
    assert inv.group_hosts("gpu_nodes") == ["hpc-compute-01", "hpc-compute-02"]
    hosts = inv.hosts()
    # audio functions of a GPU are passed through too, but are not GPUs
    assert hosts["hpc-compute-01"]["gpu_count"] == 1 and hosts["hpc-compute-01"]["slurm_gres"] == "gpu:1"
    assert hosts["hpc-compute-02"]["gpu_count"] == 2 and hosts["hpc-compute-02"]["slurm_gres"] == "gpu:2"
    assert hosts["hpc-compute-02"]["gpu_pci_addresses"] == ["0000:02:00.0", "0000:03:00.0"]
    assert hosts["hpc-compute-01"]["slurm_node_name"] == "compute-01"
    assert hosts["hpc-controller"]["ansible_host"] == "192.168.100.10"
    assert hosts["hpc-compute-01"]["slurm_real_memory"] < 8 * 1024


def test_partitions_come_from_slurm_config():
    parts = _inv("hpc_gpu_list.yaml").groups()["hpc"]["vars"]["slurm_partitions"]
    assert [(p["name"], p["default"], p["max_time"]) for p in parts] == [("gpu", True, "24:00:00"), ("debug", False, "24:00:00")]
    assert parts[0]["nodes"] == ["compute-01", "compute-02"]


def test_count_form_cpu_partition_and_warnings():
    inv = _inv("hpc_count_cloud.yaml")
    assert inv.group_hosts("hpc_compute_nodes") == ["hpc-compute-01", "hpc-compute-02", "hpc-compute-03"]
    assert "hpc_gpu_nodes" not in inv.groups()
    parts = {p["name"]: p for p in inv.groups()["hpc"]["vars"]["slurm_partitions"]}
    assert parts["cpu"]["nodes"] == ["compute-01", "compute-02", "compute-03"] and parts["cpu"]["default"]
    # DHCP without a live address: no ansible_host, and a warning naming the node's config path
    assert "ansible_host" not in inv.hosts()["hpc-compute-02"]
    assert any(w.startswith("clusters -> hpc -> compute_nodes[1]: no address") for w in inv.warnings)
    assert any("partitions[1]: partition 'gpu' has no GPU nodes" in w for w in inv.warnings)


def test_cloud_groups_as_kubespray_expects_them():
    inv = _inv("hpc_count_cloud.yaml")
    groups = inv.groups()
    assert set(groups["k8s_cluster"]["children"]) == {"kube_control_plane", "kube_node"}
    assert inv.group_hosts("kube_control_plane") == ["cloud-control-plane"]
    assert inv.group_hosts("etcd") == ["cloud-control-plane"]
    assert inv.group_hosts("kube_node") == ["cloud-cpu-worker-01", "cloud-gpu-worker-01"]
    assert inv.group_hosts("cloud_gpu_nodes") == ["cloud-gpu-worker-01"]
    assert groups["k8s_cluster"]["vars"] == {"kube_network_plugin": "calico", "ingress_nginx_enabled": True,
                                             "local_path_provisioner_enabled": True}
    assert inv.hosts()["cloud-gpu-worker-01"]["node_labels"] == {"nvidia.com/gpu.present": "true"}
    assert inv.group_hosts("mlflow_server") == ["cloud-control-plane"]


def test_control_plane_runs_pods_when_there_are_no_workers():
    cfg = parse_config("clusters:\n  cloud:\n    control_plane: {cpu_cores: 2, memory_gb: 4, ip: 10.0.0.2}\n", "t").config
    inv = build_inventory(cfg)
    assert inv.group_hosts("kube_node") == ["cloud-control-plane"]
    assert any("no workers" in w for w in inv.warnings)


def test_live_ips_win_over_configured_ones():
    live = live_ips_from_vms([{"name": "hpc-compute-01", "ips": ["fe80::1", "10.9.9.9", "192.168.100.51"]},
                              {"name": "unrelated", "ips": ["1.2.3.4"]}])
    hosts = _inv("hpc_gpu_list.yaml", live_ips=live).hosts()
    # the address inside the cluster's subnet, not the first one
    assert hosts["hpc-compute-01"]["ansible_host"] == "192.168.100.51" and hosts["hpc-compute-01"]["ip_source"] == "live"
    assert hosts["hpc-compute-02"]["ansible_host"] == "192.168.100.12" and hosts["hpc-compute-02"]["ip_source"] == "config"


def test_beegfs_groups_follow_the_config():
    inv = _inv("hpc_gpu_list.yaml")
    assert inv.group_hosts("beegfs_management") == ["hpc-controller"]
    assert inv.group_hosts("beegfs_metadata") == ["hpc-controller"]
    assert inv.group_hosts("beegfs_storage") == ["hpc-compute-01", "hpc-compute-02"]
    assert inv.group_hosts("beegfs_client") == ["hpc-controller", "hpc-compute-01", "hpc-compute-02"]
    assert "beegfs_management" not in _inv("hpc_count_cloud.yaml").groups()


def test_errors_name_the_config_path():
    text = (FIXTURES / "hpc_gpu_list.yaml").read_text().replace("storage_nodes: [compute-01, compute-02]",
                                                                "storage_nodes: [compute-01, compute-09]")
    with pytest.raises(InventoryError, match=r"clusters -> hpc -> storage -> beegfs -> storage_nodes\[1\]: 'compute-09' is not an HPC node"):
        build_inventory(parse_config(text, "t").config)
    with pytest.raises(InventoryError, match="clusters: neither hpc nor cloud"):
        build_inventory(parse_config("version: '1.0'\n", "t").config)
    clash = ("clusters:\n  hpc:\n    name: x\n    controller: {cpu_cores: 1, memory_gb: 1}\n"
             "  cloud:\n    name: x\n    control_plane: {name: controller, cpu_cores: 1, memory_gb: 1}\n")
    with pytest.raises(InventoryError, match=r"clusters -> cloud -> control_plane: host name 'x-controller' is also used by clusters -> hpc -> controller"):
        build_inventory(parse_config(clash, "t").config)
    with pytest.raises(InventoryError, match="format 'toml'"):
        render(_inv("hpc_gpu_list.yaml"), "toml")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_yaml_and_ini_read_back_identically_by_ansible(config, tmp_path):
    """Both files through `ansible-inventory --list`: same hosts, groups and variables."""
    inv = build_inventory(load_config(config).config, InventoryOptions(ssh_user="admin", ssh_key="/keys/my key"))
    y = write_inventory(to_yaml(inv), tmp_path / "inv.yml")
    i = write_inventory(to_ini(inv), tmp_path / "inv.ini")
    tool = str(Path(sys.executable).parent / "ansible-inventory")
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    a = json.loads(subprocess.run([tool, "-i", str(y), "--list"], capture_output=True, text=True, check=True, env=env).stdout)
    b = json.loads(subprocess.run([tool, "-i", str(i), "--list"], capture_output=True, text=True, check=True, env=env).stdout)
    a["all"].pop("children"), b["all"].pop("children")  # INI nests child groups differently under 'all'
    assert a == b
    for host, hostvars in inv.hosts().items():
        for key, value in hostvars.items():
            assert a["_meta"]["hostvars"][host][key] == value, (host, key)
    assert a["_meta"]["hostvars"][next(iter(inv.hosts()))]["ansible_ssh_private_key_file"] == "/keys/my key"


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = write_inventory("first\n", tmp_path / "sub" / "inv.yml")
    assert target.read_text() == "first\n" and oct(target.stat().st_mode & 0o777) == "0o644"

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        write_inventory("second\n", target)
    assert target.read_text() == "first\n"
    assert [p.name for p in target.parent.iterdir()] == ["inv.yml"]  # no temp file left behind
