"""The GPU map on the libvirt test-driver host: GPUs -> VMs (real test driver) -> SLURM nodes
(cluster config naming) -> jobs holding the GRES index (parsed from real recorded squeue/scontrol
output) -> MLflow runs (link tags); every link names items that exist."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.mlflow.models import RunItem
from backends.slurm.parse import parse_jobs, parse_nodes
from cockpit.config import parse_config
from cockpit.gpu_map import (
    IdlePolicy,
    NodePlace,
    build_gpu_map,
    expand_indices,
    link_targets_exist,
    vm_places,
)
from cockpit.oneshot import collect
from cockpit.paths import PROVISIONING_DIR
from cockpit.snapshot import FetchResult, Snapshot, Status

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "slurm" / "recorded" / "26.05"
NOW = datetime(2026, 11, 29, tzinfo=UTC)

# The demo host, its hpc compute VMs renamed after the nodes of the recorded lab (node1, node2),
# as the cluster config below names them: VM `hpc-node1` is SLURM node `node1`.
CONFIG = """
cockpit:
  libvirt:
    hosts: [{{name: workstation, uri: "test://{xml}"}}]
clusters:
  hpc:
    name: hpc
    controller: {{cpu_cores: 2, memory_gb: 4, ip_address: 10.0.0.1}}
    compute_nodes:
      - {{name: node1, cpu_cores: 4, memory_gb: 8, ip: DHCP}}
      - {{name: node2, cpu_cores: 4, memory_gb: 8, ip: DHCP}}
"""


def snap(source: str, items, **sections) -> Snapshot:
    result = FetchResult.of(items, **sections)
    return Snapshot(source=source, status=Status.OK, fetched_at=NOW, items=result.items, sections=result.sections)


def slurm_snapshot() -> Snapshot:
    jobs = parse_jobs(json.loads((RECORDED / "squeue.json").read_text()), now=NOW)
    nodes = parse_nodes(json.loads((RECORDED / "scontrol_show_nodes.json").read_text()))
    return snap("slurm", jobs, nodes=nodes)


def run(run_id: str, **tags: str) -> RunItem:
    return RunItem(run_id=run_id, experiment="train", experiment_id="1", status="RUNNING", tags=tags)


@pytest.fixture
async def host_snapshots(tmp_path):
    xml = (PROVISIONING_DIR / "demo" / "workstation.xml").read_text()
    xml = xml.replace("<name>hpc-compute-01</name>", "<name>hpc-node1</name>")
    xml = xml.replace("<name>hpc-compute-02</name>", "<name>hpc-node2</name>")
    (tmp_path / "host.xml").write_text(xml)
    loaded = parse_config(CONFIG.format(xml=tmp_path / "host.xml"), "inline")
    snapshots = await collect(loaded, sources=("vms", "gpus"))
    assert snapshots["vms"].status == Status.OK and snapshots["gpus"].status == Status.OK, snapshots
    return loaded, snapshots


async def test_gpu_follows_to_vm_node_job_and_run(host_snapshots) -> None:
    loaded, snapshots = host_snapshots
    places = vm_places(loaded.config)
    assert places["hpc-node1"] == NodePlace("slurm", "node1") and "hpc-controller" not in places
    slurm = slurm_snapshot()
    job4 = slurm.items["4"]
    assert job4.gpu_indices == {"node1": "0-1", "node2": "0-1"}  # the recorded lab's gres_detail
    snapshots = {**snapshots, "slurm": slurm,
                 "mlflow": snap("mlflow", [run("r-job4", slurm_job_id="4"), run("r-other", slurm_job_id="999"),
                                           run("r-untagged")])}
    gmap = build_gpu_map(snapshots, places)
    by = {g.gpu: g for g in gmap.gpus}
    gpu = by["workstation/0000:01:00.0"]
    assert (gpu.vm, gpu.node, gpu.gres_index, gpu.jobs, gpu.runs) == ("hpc-node1", "node1", 0, ("4",), ("r-job4",))
    assert gpu.allocated
    # hpc-node2 has one GPU (index 0), which job 4 also holds there
    assert by["workstation/0000:41:00.0"].jobs == ("4",)
    # the cloud worker's GPU: passed to a VM, but no Kubernetes snapshot, so the chain stops at the VM
    cloud = by["workstation/0000:c1:00.0"]
    assert cloud.vm == "cloud-gpu-worker-01" and cloud.node is None and not cloud.allocated
    chain = [(lk.relation, lk.dst.source, lk.dst.key) for lk in gmap.chain("workstation/0000:01:00.0")]
    vm_key = next(k for k, v in snapshots["vms"].items.items() if v.name == "hpc-node1")
    assert ("passed_to", "vms", vm_key) in chain
    assert ("is_node", "slurm", "node1") in chain and ("allocated_to", "slurm", "4") in chain
    assert ("logs_to", "mlflow", "r-job4") in chain
    assert not any(lk.dst.key == "r-other" for lk in gmap.links)  # job 999 is not in the queue
    assert link_targets_exist(gmap.links, snapshots) == []


async def test_without_cluster_config_no_node_is_guessed(host_snapshots) -> None:
    _, snapshots = host_snapshots
    gmap = build_gpu_map({**snapshots, "slurm": slurm_snapshot()}, places={})
    assert {lk.relation for lk in gmap.links} == {"passed_to"}
    assert all(g.jobs == () and g.node is None for g in gmap.gpus)


async def test_allocated_but_idle_flag(host_snapshots) -> None:
    loaded, snapshots = host_snapshots
    from backends.gpus.models import NvmlReading

    gpus = dict(snapshots["gpus"].items)
    key = "workstation/0000:01:00.0"
    gpus[key] = gpus[key].model_copy(update={"nvml": NvmlReading(utilization_pct=3, memory_used_mib=100,
                                                                 source="guest-nvidia-smi", vm="hpc-node1")})
    snapshots = {**snapshots, "gpus": snapshots["gpus"].evolve(items=gpus), "slurm": slurm_snapshot()}
    places = vm_places(loaded.config)
    row = {g.gpu: g for g in build_gpu_map(snapshots, places).gpus}[key]
    assert row.idle(IdlePolicy()) is True and row.idle(IdlePolicy(below_pct=2)) is False
    doc = build_gpu_map(snapshots, places, IdlePolicy(below_pct=2)).as_json()
    entry = next(g for g in doc["gpu_use"]["gpus"] if g["gpu"] == key)
    assert entry["allocated"] is True and entry["idle"] is False and entry["utilization_pct"] == 3
    # no reading on an allocated GPU: unknown, not idle
    assert next(g for g in build_gpu_map(snapshots, places).gpus if g.gpu == "workstation/0000:41:00.0").idle(IdlePolicy()) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["4", "5", "1", "77", "4_1"]), st.sampled_from(["", "ns", "default"]),
                          st.sampled_from(["", "pod-a", "pod-b"])), max_size=8))
def test_every_link_points_to_items_that_exist(tag_sets) -> None:
    from backends.gpus.models import GpuItem
    from backends.kube.models import NodeItem, PodItem
    from backends.libvirt.models import VmItem

    gpus = [GpuItem(pci_address=a, host="h", name="GPU", vendor_id="10de", device_id="2330", assigned_to=vm)
            for a, vm in (("0000:01:00.0", "hpc-node1"), ("0000:02:00.0", "hpc-node1"), ("0000:03:00.0", "cloud-w1"),
                          ("0000:04:00.0", "gone-vm"))]
    vms = [VmItem(name="hpc-node1", uuid="u1", host="h", state="running", vcpus=1, memory_mib=1,
                  gpus=("0000:01:00.0", "0000:01:00.1", "0000:02:00.0")),
           VmItem(name="cloud-w1", uuid="u2", host="h", state="running", vcpus=1, memory_mib=1, gpus=("0000:03:00.0",))]
    pods = [PodItem(uid="p1", namespace="ns", name="pod-a", phase="Running", reason="Running", node="cloud-w1", gpus=1)]
    runs = [run(f"r{i}", **{k: v for k, v in (("slurm_job_id", j), ("k8s_namespace", ns), ("k8s_pod", p)) if v})
            for i, (j, ns, p) in enumerate(tag_sets)]
    snapshots = {"gpus": snap("gpus", gpus), "vms": snap("vms", vms), "slurm": slurm_snapshot(),
                 "kubernetes": snap("kubernetes", pods, nodes=[NodeItem(name="cloud-w1", ready=True)]),
                 "mlflow": snap("mlflow", runs)}
    places = {"hpc-node1": NodePlace("slurm", "node1"), "cloud-w1": NodePlace("kubernetes", "cloud-w1")}
    gmap = build_gpu_map(snapshots, places)
    assert link_targets_exist(gmap.links, snapshots) == []
    by = {g.gpu: g for g in gmap.gpus}
    assert by["h/0000:02:00.0"].gres_index == 1  # the audio function is not a GPU index
    assert by["h/0000:03:00.0"].pods == ("p1",)
    assert by["h/0000:04:00.0"].vm is None  # its VM is not in the snapshot: no link
    linked_runs = {lk.dst.key for lk in gmap.links if lk.relation == "logs_to"}
    queued = {str(j.job_id) for j in snapshots["slurm"].items.values()} | {j.display_id for j in snapshots["slurm"].items.values()}
    expected = {f"r{i}" for i, (j, ns, p) in enumerate(tag_sets) if j in queued or (ns, p) == ("ns", "pod-a")}
    assert linked_runs == expected


def test_expand_indices() -> None:
    assert expand_indices("0-1,3") == {0, 1, 3}
    assert expand_indices("2") == {2}
    assert expand_indices("x,1") == {1}


async def test_gpus_with_idle_names_allocated_gpus_under_the_threshold(host_snapshots) -> None:
    from backends.gpus.models import NvmlReading

    from cockpit.gpu_map import IDLE_SECTION, gpus_with_idle

    loaded, snapshots = host_snapshots
    gpus = dict(snapshots["gpus"].items)
    for key, pct in (("workstation/0000:01:00.0", 3), ("workstation/0000:41:00.0", 60)):
        gpus[key] = gpus[key].model_copy(update={"nvml": NvmlReading(utilization_pct=pct, source="guest-nvidia-smi")})
    snapshots = {**snapshots, "gpus": snapshots["gpus"].evolve(items=gpus)}
    # Without the SLURM queue nothing is allocated: a GPU at 3% is free, not idle.
    assert gpus_with_idle(snapshots, loaded.config).sections[IDLE_SECTION] == frozenset()
    shown = gpus_with_idle({**snapshots, "slurm": slurm_snapshot()}, loaded.config)
    assert shown.sections[IDLE_SECTION] == frozenset({"workstation/0000:01:00.0"})  # job 4 holds both; 41:00.0 works
    assert shown.items == snapshots["gpus"].items
    assert gpus_with_idle({}, loaded.config) is None


def test_a_gpu_left_on_the_host_follows_its_processes_cgroups_to_job_and_run() -> None:
    """A GPU no VM holds: NVML's processes on it, their cgroups naming a SLURM job of the queue
    (recorded 26.05 squeue) and an unknown container; the job's run is linked through its tag."""
    from backends.gpus.models import GpuItem, GpuProcess, NvmlReading

    slurm = slurm_snapshot()
    job_key = next(iter(slurm.items))
    procs = (
        GpuProcess(pid=4242, command="python", cgroup=f"/system.slice/slurmstepd.scope/job_{job_key}/step_0/user/task_0",
                   owner_kind="slurm_job", owner_id=job_key, owner_detail="0"),
        GpuProcess(pid=77, command="ollama", cgroup="/libpod_parent/libpod-d6c28b15fdf5",
                   owner_kind="container", owner_id="d6c28b15fdf5", owner_detail="libpod"),
        GpuProcess(pid=78, command="stray", owner_kind="slurm_job", owner_id="999999"),  # not in the queue
    )
    gpu = GpuItem(pci_address="0000:41:00.0", host="workstation", name="H100", vendor_id="10de", device_id="2330",
                  nvml=NvmlReading(utilization_pct=3, processes=procs))
    snapshots = {"gpus": snap("gpus", [gpu]), "slurm": slurm,
                 "mlflow": snap("mlflow", [run("r1", slurm_job_id=job_key)])}
    gmap = build_gpu_map(snapshots, {})
    (use,) = gmap.gpus
    assert use.jobs == (job_key,) and use.runs == ("r1",) and use.vm is None
    assert use.processes == (f"4242 python (SLURM job {job_key} step 0)",
                             "77 ollama (container d6c28b15fdf5 libpod)", "78 stray (SLURM job 999999)")
    assert use.idle(IdlePolicy()) is True  # held by a job, 3% busy
    relations = [(link.relation, link.dst.source, link.dst.key) for link in gmap.chain(gpu.key())]
    assert relations == [("allocated_to", "slurm", job_key), ("logs_to", "mlflow", "r1")]
    assert link_targets_exist(gmap.links, snapshots) == []  # every end names an item
    assert all(link.attrs.get("pid") == 4242 for link in gmap.links if link.relation == "allocated_to")


def test_a_gpu_passed_to_a_vm_ignores_host_process_lists() -> None:
    from backends.gpus.models import GpuItem, GpuProcess, NvmlReading

    gpu = GpuItem(pci_address="0000:41:00.0", host="workstation", name="H100", vendor_id="10de", device_id="2330",
                  assigned_to="some-vm", nvml=NvmlReading(processes=(GpuProcess(pid=1, owner_kind="slurm_job", owner_id="1"),)))
    gmap = build_gpu_map({"gpus": snap("gpus", [gpu])}, {})
    assert gmap.gpus[0].processes == () and gmap.links == ()
