"""Clusters from the upstream-style multi-GPU sample on a test-driver host: plan, up in order,
the GPU shared between clusters, refusals before anything is created, rollback, down/remove."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from cockpit.actions import ActionRefused

from cockpit.cli import main
from cockpit.config import parse_config
from cockpit.paths import PROVISIONING_DIR
from cockpit.runtime import build_runtime
from tests.backends.libvirt.conftest import clean_lab_uri  # noqa: F401

SAMPLE = PROVISIONING_DIR / "samples" / "multi-gpu-clusters.yaml"


def test_sample_validates() -> None:
    assert main(["config", "validate", str(SAMPLE)]) == 0


def sample_runtime(uri: str, tmp_path, edit=None):
    doc = yaml.safe_load(SAMPLE.read_text())
    for kind in ("hpc", "cloud"):
        image = tmp_path / f"{kind}.qcow2"
        if not image.exists():
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "50G"], check=True)
        cluster = doc["clusters"][kind]
        cluster["base_image_path"] = str(image)
        for node in [cluster.get("controller"), cluster.get("control_plane")]:
            if node:
                node.pop("base_image_path", None)
        for node in cluster.get("compute_nodes", []):
            node.pop("base_image_path", None)
    doc["cockpit"] = {"libvirt": {"hosts": [{"name": "lab", "uri": uri}], "pool_path": str(tmp_path / "pool")},
                      "gpus": {"guest_telemetry": False}}
    if edit:
        edit(doc)
    loaded = parse_config(yaml.safe_dump(doc), "sample")
    return build_runtime(loaded, sources=("vms", "gpus"), audit_path=tmp_path / "audit.jsonl")


async def state(rt):
    host = rt.adapter("vms").host("lab")

    def read(c):
        return ({d.name(): bool(d.isActive()) for d in c.listAllDomains()},
                sorted(n.name() for n in c.listAllNetworks()),
                sorted(c.storagePoolLookupByName("cockpit").listVolumes()) if "cockpit" in c.listStoragePools() + c.listDefinedStoragePools() else [])

    return await host.call(read)


async def test_up_shared_gpu_and_down(clean_lab_uri, tmp_path) -> None:
    rt = sample_runtime(clean_lab_uri, tmp_path)
    plan = await rt.invoke("cluster.plan", {"cluster": "hpc"})
    assert plan.ok and plan.result["ok"], plan.result["problems"]
    assert [v["name"] for v in plan.result["vms"]] == ["hpc-cluster-controller", "hpc-cluster-compute-01", "hpc-cluster-compute-02"]

    up = await rt.invoke("cluster.up", {"cluster": "hpc"})
    assert up.ok, up.error
    assert up.outputs["started"] == ["hpc-cluster-controller", "hpc-cluster-compute-01", "hpc-cluster-compute-02"]
    up = await rt.invoke("cluster.up", {"cluster": "cloud"})
    assert up.ok, up.error
    assert up.outputs["left_stopped"] == ["cloud-cluster-gpu-worker-01"]
    doms, nets, vols = await state(rt)
    assert doms["cloud-cluster-gpu-worker-01"] is False and doms["hpc-cluster-compute-01"] is True
    assert {"hpc-cluster-net", "cloud-cluster-net"} <= set(nets) and len(vols) == 6

    # the worker sharing compute-01's GPU is refused while compute-01 runs, naming it
    with pytest.raises(ActionRefused, match="held by running VM hpc-cluster-compute-01"):
        await rt.invoke("vm.start", {"name": "cloud-cluster-gpu-worker-01"})

    snap = await rt.hub.collectors["gpus"].fetch_once()
    gpu = snap.items["lab/0000:01:00.0"]
    assert gpu.assigned_to == "hpc-cluster-compute-01"
    assert gpu.holders == ("cloud-cluster-gpu-worker-01", "hpc-cluster-compute-01")
    assert any("only when started by hand" in c for c in gpu.conflicts)

    down = await rt.invoke("cluster.down", {"cluster": "hpc", "timeout_s": 5})
    assert down.ok and down.outputs["stopped"][-1] == "hpc-cluster-controller"  # controller last
    assert (await rt.invoke("vm.start", {"name": "cloud-cluster-gpu-worker-01"})).ok

    removed = await rt.invoke("cluster.remove", {"cluster": "hpc", "timeout_s": 5})
    assert removed.ok, removed.error
    doms, nets, vols = await state(rt)
    assert not any(n.startswith("hpc-cluster") for n in doms) and "hpc-cluster-net" not in nets
    assert all(v.startswith("cloud-cluster") for v in vols)


async def test_bad_config_creates_nothing(clean_lab_uri, tmp_path) -> None:
    def edit(doc):
        hpc = doc["clusters"]["hpc"]
        hpc["compute_nodes"][1]["pcie_passthrough"]["devices"][0]["pci_address"] = "0000:01:00.0"  # twice
        hpc["compute_nodes"][0]["pcie_passthrough"]["devices"][1]["pci_address"] = "0000:0e:00.1"  # unknown
        hpc["controller"]["base_image_path"] = str(tmp_path / "missing.qcow2")
        hpc["compute_nodes"][0]["disk_gb"] = 20  # base image is 50 GiB

    rt = sample_runtime(clean_lab_uri, tmp_path, edit)
    before = await state(rt)
    result = await rt.invoke("cluster.up", {"cluster": "hpc"})
    assert not result.ok
    for message in ("compute_nodes[0] -> pcie_passthrough -> devices[1]: 0000:0e:00.1 is not a PCI device on host lab",
                    "0000:01:00.0 is assigned twice in cluster hpc-cluster: hpc-cluster-compute-01 and hpc-cluster-compute-02",
                    "controller -> base_image_path: base image", "does not exist",
                    "compute_nodes[0] -> disk_gb: 20 GiB is too little disk"):
        assert message in result.error, result.error
    assert await state(rt) == before


async def test_failed_step_rolls_back_everything_created(clean_lab_uri, tmp_path, monkeypatch) -> None:
    rt = sample_runtime(clean_lab_uri, tmp_path)
    before = await state(rt)
    import cockpit.ops.clusters as ops

    real = ops.define_domain
    calls = []

    def flaky(conn, xml):  # the third VM's definition fails (as a real libvirtd does on a bad emulator)
        calls.append(xml)
        if len(calls) == 3:
            import libvirt
            raise libvirt.libvirtError("unsupported configuration: emulator not found")
        return real(conn, xml)

    monkeypatch.setattr(ops, "define_domain", flaky)
    result = await rt.invoke("cluster.up", {"cluster": "hpc"})
    assert not result.ok
    assert "step 'define hpc-cluster-compute-02' failed" in result.error
    assert ("rolled back: volume hpc-cluster-compute-02.qcow2, VM hpc-cluster-compute-01, volume "
            "hpc-cluster-compute-01.qcow2, VM hpc-cluster-controller, volume hpc-cluster-controller.qcow2, "
            "storage pool cockpit, network hpc-cluster-net") in result.error  # newest first
    after = await state(rt)
    assert after[0] == before[0] and after[1] == before[1] and after[2] == []


async def test_bridge_in_use_is_caught_before_creation(clean_lab_uri, tmp_path) -> None:
    def edit(doc):
        doc["clusters"]["hpc"]["network"]["bridge"] = "virbr0"  # the default network's bridge

    rt = sample_runtime(clean_lab_uri, tmp_path, edit)
    result = await rt.invoke("cluster.up", {"cluster": "hpc"})
    assert not result.ok and "virbr0 is already used by libvirt network 'default'" in result.error


HPC_VMS = ["hpc-cluster-controller", "hpc-cluster-compute-01", "hpc-cluster-compute-02"]
CLOUD_VMS = ["cloud-cluster-control-plane", "cloud-cluster-cpu-worker-01", "cloud-cluster-gpu-worker-01"]


async def test_all_clusters_up_in_order_then_down_in_reverse(clean_lab_uri, tmp_path) -> None:
    rt = sample_runtime(clean_lab_uri, tmp_path)
    # the confirmation's target names every VM, in the order they are touched
    prepared = rt.dispatcher.prepare("clusters.up", {})
    target = await rt.dispatcher.read_target(prepared, rt_actor())
    assert target == (f"hpc hpc-cluster: {', '.join(HPC_VMS)}; then cloud cloud-cluster: "
                      "cloud-cluster-control-plane, cloud-cluster-cpu-worker-01, "
                      "cloud-cluster-gpu-worker-01 (defined, left stopped)")
    down_target = await rt.dispatcher.read_target(rt.dispatcher.prepare("clusters.down", {}), rt_actor())
    assert down_target == ("cloud cloud-cluster: cloud-cluster-gpu-worker-01, cloud-cluster-cpu-worker-01, "
                           "cloud-cluster-control-plane; "
                           "then hpc hpc-cluster: hpc-cluster-compute-02, hpc-cluster-compute-01, hpc-cluster-controller")

    up = await rt.invoke("clusters.up", {})
    assert up.ok, up.error
    assert [c["cluster"] for c in up.outputs["clusters"]] == ["hpc-cluster", "cloud-cluster"]
    assert up.outputs["clusters"][0]["started"] == HPC_VMS
    assert up.outputs["clusters"][1]["left_stopped"] == ["cloud-cluster-gpu-worker-01"]
    doms, _, _ = await state(rt)
    assert all(doms[n] for n in HPC_VMS + CLOUD_VMS[:2]) and not doms["cloud-cluster-gpu-worker-01"]

    down = await rt.invoke("clusters.down", {"timeout_s": 5})
    assert down.ok, down.error
    assert [c["cluster"] for c in down.outputs["clusters"]] == ["cloud-cluster", "hpc-cluster"]
    assert down.outputs["clusters"][0]["stopped"] == ["cloud-cluster-cpu-worker-01", "cloud-cluster-control-plane"]
    assert down.outputs["clusters"][1]["stopped"] == list(reversed(HPC_VMS))
    doms, _, _ = await state(rt)
    assert not any(doms[n] for n in HPC_VMS + CLOUD_VMS)

    # both runs are in the audit log, each with the confirmed target naming the VMs
    import json
    starts = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    starts = [r for r in starts if r.get("event") == "action.start" and r.get("action", "").startswith("clusters.")]
    assert [r["action"] for r in starts] == ["clusters.up", "clusters.down"]
    assert "Target: hpc hpc-cluster: hpc-cluster-controller" in starts[0]["confirmation"]


async def test_all_up_stops_at_the_failing_cluster(clean_lab_uri, tmp_path) -> None:
    def edit(doc):  # the cloud cluster's control plane has no base image: refused before anything
        doc["clusters"]["cloud"]["control_plane"]["base_image_path"] = str(tmp_path / "missing.qcow2")

    rt = sample_runtime(clean_lab_uri, tmp_path, edit)
    result = await rt.invoke("clusters.up", {})
    assert not result.ok
    assert "cluster cloud-cluster was not created" in result.error
    assert "clusters already up: hpc-cluster (left running)" in result.error
    doms, _, _ = await state(rt)
    assert all(doms[n] for n in HPC_VMS) and not any(n.startswith("cloud-cluster") for n in doms)


def test_cli_confirmation_names_every_vm(clean_lab_uri, tmp_path, capsys) -> None:
    rt = sample_runtime(clean_lab_uri, tmp_path)  # writes the base images the config names
    del rt
    doc = yaml.safe_load(SAMPLE.read_text())
    for kind in ("hpc", "cloud"):
        doc["clusters"][kind]["base_image_path"] = str(tmp_path / f"{kind}.qcow2")
    doc["cockpit"] = {"libvirt": {"hosts": [{"name": "lab", "uri": clean_lab_uri}]},
                      "audit_log": str(tmp_path / "cli-audit.jsonl")}
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["action", "run", "clusters.down", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "this will: Shut every cluster of the config down in order, cloud first, then hpc" in err
    for name in HPC_VMS + CLOUD_VMS:
        assert name in err
    assert "re-run with --yes" in err


def rt_actor():
    from cockpit.actions import local_actor

    return local_actor("test")
