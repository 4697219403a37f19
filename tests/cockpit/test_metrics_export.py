"""cockpit.metrics_export: snapshots -> Prometheus families, read back through prometheus_client."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Callable, Mapping

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from backends.beegfs.models import StorageTarget
from backends.gpus.models import GpuItem, NvmlReading
from backends.libvirt.models import VmItem
from backends.slurm.models import Job, Node
from cockpit.cli_metrics import check_listen
from cockpit.metrics_export import SERIES_CAP, SnapshotCollector
from cockpit.snapshot import FetchResult, Snapshot, Status, utcnow
from tests.cockpit.test_gpu_map import host_snapshots  # noqa: F401 - the libvirt test host fixture

H100 = json.loads((Path(__file__).parents[1] / "fixtures" / "nvml-h100" / "nvml_h100.json").read_text())["devices"][0]
MIB = 1024 * 1024


def ok(source: str, result: FetchResult, age_s: float = 0.0) -> Snapshot:
    return Snapshot(source=source, status=Status.OK, fetched_at=utcnow() - timedelta(seconds=age_s),
                    items=result.items, sections=result.sections)


def registry_over(snapshots: Callable[[], Mapping[str, Snapshot]]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SnapshotCollector(snapshots))
    return reg


def registry(snapshots: dict[str, Snapshot]) -> CollectorRegistry:
    return registry_over(lambda: snapshots)


def h100_reading() -> NvmlReading:
    return NvmlReading(utilization_pct=H100["util"]["gpu"], memory_used_mib=H100["memory"]["used"] // MIB,
                       memory_total_mib=H100["memory"]["total"] // MIB, temperature_c=H100["temp_c"],
                       power_w=H100["power_mw"] / 1000, name=H100["name"], uuid=H100["uuid"])


def test_gpu_series_carry_the_vm_that_holds_each_gpu() -> None:
    gpus = [
        GpuItem(pci_address="0000:41:00.0", host="ws", name="GH100 [H100 PCIe]", vendor_id="10de",
                device_id="2331", assigned_to="hpc-compute-02", holders=("hpc-compute-02",), nvml=h100_reading()),
        GpuItem(pci_address="0000:81:00.0", host="ws", name="GA100", vendor_id="10de", device_id="20b5"),
    ]
    reg = registry({"gpus": ok("gpus", FetchResult.of(gpus))})
    held = {"gpu": "0000:41:00.0", "host": "ws", "vm": "hpc-compute-02"}
    free = {"gpu": "0000:81:00.0", "host": "ws", "vm": ""}
    assert reg.get_sample_value("cockpit_gpu_assigned", held) == 1.0
    assert reg.get_sample_value("cockpit_gpu_assigned", free) == 0.0
    # NVML's own product name wins over the PCI database's name; no cluster config: no job or pod
    labels = {**held, "model": "NVIDIA H100 80GB HBM3", "job": "", "pod": "", "namespace": ""}
    assert reg.get_sample_value("cockpit_gpu_utilization_ratio", labels) == H100["util"]["gpu"] / 100
    assert reg.get_sample_value("cockpit_gpu_memory_used_bytes", labels) == (H100["memory"]["used"] // MIB) * MIB
    assert reg.get_sample_value("cockpit_gpu_power_watts", labels) == pytest.approx(120.488)
    assert reg.get_sample_value("cockpit_gpu_temperature_celsius", labels) == 32
    # no reading, no utilisation series (absent, not a made-up zero)
    assert reg.get_sample_value("cockpit_gpu_utilization_ratio",
                                {**free, "model": "GA100", "job": "", "pod": "", "namespace": ""}) is None


async def test_gpu_series_name_the_job_and_pod_the_gpu_map_links(host_snapshots) -> None:
    """The libvirt test driver's host with the recorded 26.05 lab's queue (job 4 holds GRES 0-1 on
    node1 and node2) and a pod holding the cloud worker's GPU: each GPU's series names its work."""
    from backends.kube.models import NodeItem, PodItem
    from cockpit.gpu_map import NodePlace, vm_places
    from tests.cockpit.test_gpu_map import slurm_snapshot, snap

    loaded, snapshots = host_snapshots
    pod = PodItem(uid="p1", namespace="ml", name="trainer-0", phase="Running", reason="Running",
                  node="cloud-gpu-worker-01", gpus=1)
    snapshots = {**snapshots, "slurm": slurm_snapshot(),
                 "kubernetes": snap("kubernetes", [pod], nodes=[NodeItem(name="cloud-gpu-worker-01", ready=True)])}
    reg = CollectorRegistry(auto_describe=False)
    # the test config has an hpc cluster only: the cloud worker is placed as a cloud config would
    places = {**vm_places(loaded.config), "cloud-gpu-worker-01": NodePlace("kubernetes", "cloud-gpu-worker-01")}
    reg.register(SnapshotCollector(lambda: snapshots, places))
    info = {}
    for family in reg.collect():
        if family.name == "cockpit_gpu_info":
            info = {s.labels["gpu"]: s.labels for s in family.samples}
    assert (info["0000:01:00.0"]["vm"], info["0000:01:00.0"]["job"], info["0000:01:00.0"]["pod"]) == ("hpc-node1", "4", "")
    assert info["0000:41:00.0"]["job"] == "4"  # hpc-node2's one GPU (index 0), also job 4's
    cloud = info["0000:c1:00.0"]
    assert (cloud["vm"], cloud["job"], cloud["pod"], cloud["namespace"]) == ("cloud-gpu-worker-01", "", "trainer-0", "ml")
    # still one series per GPU: the labels name the work, they do not multiply the GPUs
    assert len(info) == len(snapshots["gpus"].items)
    # without the cluster config no VM is a node: nothing is linked, every job and pod label is empty
    bare = CollectorRegistry(auto_describe=False)
    bare.register(SnapshotCollector(lambda: snapshots))
    for family in bare.collect():
        if family.name == "cockpit_gpu_info":
            assert {(s.labels["job"], s.labels["pod"]) for s in family.samples} == {("", "")}


def test_vm_state_is_one_series_for_the_current_state() -> None:
    vms = [VmItem(name="hpc-compute-01", uuid="u1", host="ws", state="running", vcpus=8, memory_mib=16384,
                  cpu_percent=12.5, gpus=("0000:01:00.0", "0000:01:00.1"))]
    reg = registry({"vms": ok("vms", FetchResult.of(vms))})
    vm = {"vm": "hpc-compute-01", "host": "ws"}
    assert reg.get_sample_value("cockpit_vm_state", {**vm, "state": "running"}) == 1.0
    assert reg.get_sample_value("cockpit_vm_state", {**vm, "state": "shutoff"}) is None
    assert reg.get_sample_value("cockpit_vm_memory_bytes", vm) == 16384 * MIB
    assert reg.get_sample_value("cockpit_vm_cpu_ratio", vm) == 0.125
    assert reg.get_sample_value("cockpit_vm_gpus", vm) == 2


def job(job_id: int, state: str, gpus: int, partition: str = "gpu") -> Job:
    return Job(job_id=job_id, display_id=str(job_id), name=f"j{job_id}", user="alice", partition=partition,
               state=state, gpus=gpus)


def test_slurm_counts_jobs_and_caps_per_job_series() -> None:
    running = [job(i, "RUNNING", 1 + i % 4) for i in range(1, SERIES_CAP + 51)]
    jobs = [*running, job(9001, "PENDING", 8), job(9002, "PENDING", 2, partition="debug")]
    # a list, as the slurm source gives it (parse_nodes)
    nodes = [Node(name="node1", state="MIXED", state_label="mixed", gpus=4, gpus_used=3)]
    reg = registry({"slurm": ok("slurm", FetchResult.of(jobs, nodes=nodes))})
    assert reg.get_sample_value("cockpit_slurm_jobs", {"state": "RUNNING", "partition": "gpu"}) == SERIES_CAP + 50
    assert reg.get_sample_value("cockpit_slurm_jobs", {"state": "PENDING", "partition": "debug"}) == 1
    text = generate_latest(reg).decode()
    series = [line for line in text.splitlines() if line.startswith("cockpit_slurm_job_gpus{")]
    assert len(series) == SERIES_CAP
    assert 'job="9001"' not in text  # pending jobs hold no GPUs
    # most GPUs first: every job with 4 GPUs is exported
    assert reg.get_sample_value("cockpit_slurm_job_gpus", {"job": "3", "user": "alice", "partition": "gpu"}) == 4
    assert reg.get_sample_value("cockpit_series_capped", {"metric": "cockpit_slurm_job_gpus"}) == 50
    assert reg.get_sample_value("cockpit_slurm_node_gpus_allocated", {"node": "node1"}) == 3
    assert reg.get_sample_value("cockpit_slurm_node_state", {"node": "node1", "state": "mixed"}) == 1


def test_storage_free_ratio() -> None:
    targets = [StorageTarget(id=1, type="storage", node="storage01", reachability="Online",
                             total_bytes=1000, free_bytes=250)]
    reg = registry({"storage": ok("storage", FetchResult.of(targets))})
    labels = {"target": "storage:1", "type": "storage", "node": "storage01"}
    assert reg.get_sample_value("cockpit_storage_target_free_ratio", labels) == 0.25
    assert reg.get_sample_value("cockpit_storage_target_online", labels) == 1


def test_source_health_up_age_and_unconfigured() -> None:
    good = ok("vms", FetchResult.of([]), age_s=5)
    failing = ok("slurm", FetchResult.of([job(1, "RUNNING", 2)]), age_s=60).evolve(
        status=Status.ERROR, error="connection refused", stale=True)
    never = Snapshot(source="mlflow", status=Status.ERROR, error="boom")
    reg = registry({"vms": good, "slurm": failing, "mlflow": never,
                    "storage": Snapshot.unconfigured("storage", "set cockpit.beegfs")})
    assert reg.get_sample_value("cockpit_source_up", {"source": "vms"}) == 1
    assert reg.get_sample_value("cockpit_source_up", {"source": "slurm"}) == 0
    assert reg.get_sample_value("cockpit_source_up", {"source": "mlflow"}) == 0
    assert reg.get_sample_value("cockpit_source_up", {"source": "storage"}) is None
    assert reg.get_sample_value("cockpit_source_configured", {"source": "storage"}) == 0
    assert 59 <= reg.get_sample_value("cockpit_source_age_seconds", {"source": "slurm"}) < 70
    assert reg.get_sample_value("cockpit_source_age_seconds", {"source": "mlflow"}) is None
    # the last good data of a failing source stays exported, as the screen keeps showing it
    assert reg.get_sample_value("cockpit_slurm_job_gpus", {"job": "1", "user": "alice", "partition": "gpu"}) == 2


@pytest.mark.parametrize("listen", ["127.0.0.1:9477", "localhost:0", "[::1]:9477", "127.0.0.2:1"])
def test_loopback_listen_accepted(listen: str) -> None:
    check_listen(listen, allow_remote=False)


@pytest.mark.parametrize("listen", ["0.0.0.0:9477", "192.168.1.5:9477", "[::]:9477", "example.org:9477"])
def test_non_loopback_listen_refused_unless_allowed(listen: str) -> None:
    with pytest.raises(ValueError, match="--allow-remote"):
        check_listen(listen, allow_remote=False)
    check_listen(listen, allow_remote=True)


def test_cli_refuses_remote_listen_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from cockpit.cli import main

    assert main(["serve-metrics", "--listen", "0.0.0.0:9477"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


async def test_a_scrape_reads_buffered_snapshots_and_fetches_nothing(demo_loaded) -> None:
    from cockpit.runtime import build_runtime

    runtime = build_runtime(demo_loaded, sources=("vms", "gpus"))
    try:
        await runtime.hub.fetch_all(timeout=30)
        fetches = {name: c.fetch_count for name, c in runtime.hub.collectors.items()}
        reg = registry_over(runtime.hub.snapshots)
        for _ in range(5):
            text = generate_latest(reg).decode()
        assert "cockpit_gpu_assigned{" in text
        assert {name: c.fetch_count for name, c in runtime.hub.collectors.items()} == fetches
    finally:
        await runtime.close()
