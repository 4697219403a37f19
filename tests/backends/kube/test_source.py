"""The `kubernetes` source end to end: kubeconfig -> kubernetes-asyncio -> fake apiserver ->
snapshot JSON, through the real hub Collector. Bad input must end in a clear pane state."""

from __future__ import annotations

import asyncio
import json

import pytest

from backends.kube.source import KubeSource
from cockpit.config import parse_config
from cockpit.hub import Collector, Timing, UnconfiguredSource
from cockpit.snapshot import Status
from cockpit.sources import BrokenSource, build_source
from tests.fakes.kube_apiserver import INFERENCESERVICE, JOB, MPIJOB_V2, NODE, POD, PYTORCHJOB

pytestmark = pytest.mark.asyncio(loop_scope="session")


def gpu_node(name, gpus=2):
    return {"metadata": {"name": name, "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-PCIe",
                                                  "node-role.kubernetes.io/worker": ""}},
            "status": {"capacity": {"nvidia.com/gpu": str(gpus), "cpu": "16"},
                       "allocatable": {"nvidia.com/gpu": str(gpus), "cpu": "15", "memory": "60Gi"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def gpu_pod(name, node=None, gpus=1, phase="Running", labels=None, waiting=None, restarts=0):
    state = {"waiting": {"reason": waiting, "message": f"{waiting} happened"}} if waiting else {"running": {}}
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"nodeName": node, "containers": [{"name": "worker", "image": "x",
                                                       "resources": {"limits": {"nvidia.com/gpu": gpus}}}]},
            "status": {"phase": phase, "containerStatuses": [{"name": "worker", "ready": not waiting,
                                                              "restartCount": restarts, "state": state}]}}


def populate(fake):
    fake.install_crd(MPIJOB_V2)
    fake.install_crd(INFERENCESERVICE)
    fake.put(NODE, gpu_node("cloud-gpu-1"))
    mpi = fake.put(MPIJOB_V2, {"metadata": {"name": "mnist"}, "spec": {"mpiReplicaSpecs": {
        "Launcher": {"replicas": 1, "template": {"spec": {"containers": [{"name": "l", "image": "x"}]}}},
        "Worker": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "w", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}},
        "status": {"conditions": [{"type": "Created", "status": "True", "reason": "MPIJobCreated"},
                                  {"type": "Running", "status": "True", "reason": "MPIJobRunning"}],
                   "replicaStatuses": {"Launcher": {"active": 1}, "Worker": {"active": 1}}}})
    labels = {"training.kubeflow.org/job-name": "mnist"}
    fake.put(POD, gpu_pod("mnist-worker-0", "cloud-gpu-1", labels={**labels, "training.kubeflow.org/job-role": "worker"}))
    fake.put(POD, gpu_pod("mnist-worker-1", None, phase="Pending",
                          labels={**labels, "training.kubeflow.org/job-role": "worker"}))
    fake.patch_status(POD, "mnist-worker-1", {"containerStatuses": None, "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."}]})
    fake.put(POD, gpu_pod("mnist-launcher", "cloud-gpu-1", gpus=0, waiting="CrashLoopBackOff", restarts=4,
                          labels={**labels, "training.kubeflow.org/job-role": "launcher"}))
    fake.put(INFERENCESERVICE, {"metadata": {"name": "iris"}, "spec": {"predictor": {"model": {
        "modelFormat": {"name": "mlflow"}, "protocolVersion": "v2", "storageUri": "s3://models/iris/1"}}},
        "status": {"url": "http://iris.default.example.com", "conditions": [
            {"type": "IngressReady", "status": "True"}, {"type": "PredictorReady", "status": "False"},
            {"type": "Ready", "status": "False", "reason": "PredictorNotReady"}]}})
    return mpi


def loaded_with(text: str, env=None):
    return parse_config(text, "test.yaml", env=env or {})


async def test_build_source_from_config_and_from_KUBECONFIG(kubeconfig, tmp_path):
    src = build_source("kubernetes", loaded_with(f"cockpit:\n  kubernetes:\n    kubeconfig: {kubeconfig}\n"
                                                   "    context: lab\n    namespace: team-a\n"))
    assert isinstance(src, KubeSource) and src.context == "lab" and src.namespace == "team-a"
    src = build_source("kubernetes", loaded_with("{}", env={"KUBECONFIG": f"/nonexistent:{kubeconfig}"}))
    assert isinstance(src, KubeSource) and src.kubeconfig == kubeconfig
    assert isinstance(build_source("kubernetes", loaded_with("{}")), UnconfiguredSource)
    broken = build_source("kubernetes", loaded_with("{}", env={"KUBECONFIG": str(tmp_path / "missing")}))
    assert isinstance(broken, BrokenSource) and str(tmp_path / "missing") in broken.error


async def test_snapshot_json_contract(fake, kubeconfig):
    populate(fake)
    collector = Collector(KubeSource(kubeconfig), Timing())
    snap = await collector.fetch_once()
    assert snap.status is Status.OK, snap.error
    doc = json.loads(json.dumps(snap.to_json()))
    pods = {p["name"]: p for p in doc["items"]}
    assert set(pods["mnist-worker-0"]) >= {"uid", "namespace", "name", "phase", "reason", "node", "restarts", "gpus"}
    assert pods["mnist-launcher"]["reason"] == "CrashLoopBackOff" and pods["mnist-launcher"]["restarts"] == 4
    assert pods["mnist-worker-1"]["reason"] == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in pods["mnist-worker-1"]["message"]
    assert pods["mnist-worker-0"] | {"uid": None, "created": None} == {
        "uid": None, "namespace": "default", "name": "mnist-worker-0", "phase": "Running", "reason": "Running",
        "message": "", "node": "cloud-gpu-1", "restarts": 0, "ready": "1/1", "gpus": 1, "containers": ["worker"],
        "job": "mnist", "role": "worker", "created": None, "admission": None}
    node = doc["nodes"][0]
    assert (node["gpu_capacity"], node["gpu_allocatable"], node["gpu_allocated"]) == (2, 2, 1)
    assert node["gpu_product"] == "NVIDIA-H100-PCIe" and node["roles"] == ["worker"]
    job = doc["training_jobs"][0]
    assert (job["kind"], job["state"], job["gpus"]) == ("MPIJob", "Running", 2)
    assert job["pods"] == ["mnist-launcher", "mnist-worker-0", "mnist-worker-1"]
    assert {r["role"]: (r["desired"], r["active"]) for r in job["replicas"]} == {"Launcher": (1, 1), "Worker": (2, 1)}
    isvc = doc["inference_services"][0]
    assert (isvc["ready"], isvc["reason"], isvc["url"]) == (False, "PredictorNotReady", "http://iris.default.example.com")
    assert isvc["parts"] == {"IngressReady": True, "PredictorReady": False}
    assert isvc["storage_uri"] == "s3://models/iris/1" and isvc["protocol"] == "v2"
    assert doc["crds"] == {"pytorchjobs": None, "mpijobs": "kubeflow.org/v2beta1",
                           "inferenceservices": "serving.kserve.io/v1beta1", "localqueues": None, "workloads": None}
    assert doc["notes"] == ["pytorchjobs (kubeflow.org/v1) not installed"]  # Kueue is optional: no note
    assert doc["workloads"] == []
    assert "s3cr3t-token" not in json.dumps(doc)
    await collector.stop()


async def test_watch_pushes_changes_into_the_collector(fake, kubeconfig):
    populate(fake)
    collector = Collector(KubeSource(kubeconfig, coalesce_s=0.01), Timing(interval=60))
    seen = []
    collector.subscribe(seen.append)
    collector.watch()
    collector.start()
    try:
        async def has(pred, timeout: float = 20.0):
            # Generous deadline: the whole suite shares 2 cores in CI. Look at the newest few
            # snapshots, not only the last, so a push landing in between cannot hide a match.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                for snap in reversed(seen[-5:]):
                    if pred(snap):
                        return snap
                await asyncio.sleep(0.02)
            raise AssertionError("no such snapshot pushed")

        await has(lambda s: len(s.items) == 3)
        fake.patch_status(POD, "mnist-worker-0", {"phase": "Failed"})
        failed = await has(lambda s: any(p.name == "mnist-worker-0" and p.phase == "Failed" for p in s.items.values()))
        assert failed.sections["nodes"][0].gpu_allocated == 0  # a failed pod holds no GPU
        fake.remove(POD, "mnist-launcher")
        await has(lambda s: len(s.items) == 2)
        fake.put(JOB, {"metadata": {"name": "etl"}, "spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "x"}]}}}, "status": {"active": 1}})
        await has(lambda s: any(j.kind == "Job" and j.state == "Running" for j in s.sections["training_jobs"]))
    finally:
        await collector.stop()


async def test_a_one_off_list_leaves_the_watch_pod_index_alone(fake, kubeconfig):
    """A fetch that lists while the watch runs must not replace the watch's pods with its own
    (possibly older) list: the next push then showed a pod state the watch had moved past."""
    populate(fake)
    source = KubeSource(kubeconfig)
    watch_index = source._pods
    snap = await source.fetch()
    assert len(snap.items) == 3
    assert source._pods is watch_index and source._pods == {}
    await source.close()


async def test_unreachable_apiserver_is_a_pane_error(fake, tmp_path):
    kc = fake.write_kubeconfig(tmp_path / "kc", server="http://127.0.0.1:1")
    collector = Collector(KubeSource(kc), Timing(timeout=10))
    snap = await collector.fetch_once()
    assert snap.status is Status.ERROR and "cannot reach apiserver http://127.0.0.1:1" in snap.error
    await collector.stop()


async def test_missing_context_is_a_pane_error_naming_it(kubeconfig):
    collector = Collector(KubeSource(kubeconfig, context="prod"), Timing())
    snap = await collector.fetch_once()
    assert snap.status is Status.ERROR
    assert snap.error == f"context 'prod' not found in kubeconfig {kubeconfig} (contexts: lab)"
    await collector.stop()


async def test_missing_crds_leave_the_pane_working(fake, kubeconfig):
    fake.put(POD, gpu_pod("solo", None))
    first = Collector(KubeSource(kubeconfig), Timing())
    snap = await first.fetch_once()
    await first.stop()
    assert snap.status is Status.OK and len(snap.items) == 1
    assert snap.sections["training_jobs"] == [] and snap.sections["inference_services"] == []
    assert len(snap.sections["notes"]) == 3
    fake.install_crd(PYTORCHJOB)  # installed later: the next fetch discovers it
    second = Collector(KubeSource(kubeconfig), Timing())
    snap = await second.fetch_once()
    await second.stop()
    assert snap.sections["crds"]["pytorchjobs"] == "kubeflow.org/v1"


async def test_apiserver_lost_while_watching_marks_rows_stale(fake, kubeconfig):
    populate(fake)
    source = KubeSource(kubeconfig, coalesce_s=0.01)
    collector = Collector(source, Timing(interval=60))
    collector.watch()
    collector.start()
    try:
        for _ in range(2000):
            if collector.snapshot.items:
                break
            await asyncio.sleep(0.01)
        await fake.stop()
        for _ in range(2000):
            if any(i.error for i in source.informers.values()):
                break
            await asyncio.sleep(0.01)
        snap = await collector.fetch_once()
        assert snap.status is Status.ERROR and snap.stale and len(snap.items) == 3
        assert "cannot reach apiserver" in snap.error
    finally:
        await collector.stop()


def kueue_fixture() -> list[dict]:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "fixtures" / "kueue" / "workloads.json"
    return json.loads(path.read_text())["items"]


def kueue_populate(fake):
    """Kueue's Workloads (tests/fixtures/kueue) and the jobs and pod that own them, as Kueue leaves
    them while it holds them: Jobs suspended, the pod gated."""
    from tests.fakes.kube_apiserver import WORKLOAD

    fake.install_crd(PYTORCHJOB)
    fake.install_crd(WORKLOAD)
    for name in ("train-big", "train-small", "sweep"):
        fake.put(JOB, {"metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": "team-a"}},
                       "spec": {"suspend": name != "train-small", "template": {"spec": {"containers": [
                           {"name": "train", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}},
                       "status": {"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]
                                  if name != "train-small" else []}}, namespace="ml")
    fake.put(PYTORCHJOB, {"metadata": {"name": "bert", "labels": {"kueue.x-k8s.io/queue-name": "team-b"}},
                          "spec": {"runPolicy": {"suspend": True}, "pytorchReplicaSpecs": {}},
                          "status": {"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]}},
             namespace="ml")
    fake.put(POD, {"metadata": {"name": "notebook-0", "labels": {"kueue.x-k8s.io/queue-name": "team-a"}},
                   "spec": {"schedulingGates": [{"name": "kueue.x-k8s.io/admission"}],
                            "containers": [{"name": "notebook", "image": "x",
                                            "resources": {"limits": {"nvidia.com/gpu": 8}}}]},
                   "status": {"phase": "Pending", "conditions": [
                       {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
                        "message": "Scheduling is blocked due to non-empty scheduling gates"}]}}, namespace="ml")
    for wl in kueue_fixture():
        fake.put(WORKLOAD, wl, namespace="ml")
    return WORKLOAD


async def test_kueue_workloads_say_why_each_job_and_pod_waits(fake, kubeconfig):
    from cockpit.kube_waits import explain_admission, explain_training_job

    kueue_populate(fake)
    collector = Collector(KubeSource(kubeconfig), Timing())
    snap = await collector.fetch_once()
    assert snap.status is Status.OK, snap.error
    doc = json.loads(json.dumps(snap.to_json()))
    assert doc["crds"]["workloads"] == "kueue.x-k8s.io/v1beta1"
    assert [w["name"] for w in doc["workloads"]] == ["job-sweep-2b7d0", "job-train-big-3f1c9", "job-train-small-c41e7",
                                                     "pod-notebook-0-6e9f1", "pytorchjob-bert-8a2d4"]
    jobs = {j.name: j for j in snap.sections["training_jobs"]}
    big = jobs["train-big"]
    assert (big.admission.quota_reserved, big.admission.reason, big.admission.queue) == (False, "Pending", "team-a")
    wait = explain_training_job(big.state, big.queue, big.admission)
    assert wait is not None and wait.short == "Kueue quota: 2 more nvidia.com/gpu"
    assert "gpu-flavor" in wait.words and "nominalQuota for nvidia.com/gpu in flavor gpu-flavor" in wait.action
    bert = explain_training_job(jobs["bert"].state, jobs["bert"].queue, jobs["bert"].admission)
    assert bert is not None and bert.short == "Kueue: LocalQueue team-b missing"
    assert "create LocalQueue team-b" in bert.action
    small = jobs["train-small"].admission
    assert (small.admitted, small.cluster_queue) == (True, "cluster-queue")
    assert explain_admission(small) is None
    sweep = explain_admission(jobs["sweep"].admission)
    assert sweep is not None and "evicted before: Preempted to accommodate a higher priority Workload" in sweep.words
    # Kueue's pod integration: the gated pod carries its own Workload's admission
    pod = next(p for p in snap.items.values() if p.name == "notebook-0")
    assert pod.reason == "SchedulingGated" and pod.admission.workload == "pod-notebook-0-6e9f1"
    over = explain_admission(pod.admission)
    assert over is not None and over.short == "Kueue: over the whole nvidia.com/gpu quota"
    await collector.stop()


async def test_an_admitted_workload_reaches_the_screen_through_the_watch(fake, kubeconfig):
    workload = kueue_populate(fake)
    collector = Collector(KubeSource(kubeconfig, coalesce_s=0.01), Timing(interval=60))
    seen = []
    collector.subscribe(seen.append)
    collector.watch()
    collector.start()

    def big():
        snap = collector.snapshot
        jobs = {j.name: j for j in snap.sections.get("training_jobs", ())}
        return jobs.get("train-big")

    for _ in range(100):
        await asyncio.sleep(0.05)
        if big() is not None and big().admission is not None:
            break
    assert big().admission.quota_reserved is False
    fake.patch_status(workload, "job-train-big-3f1c9", {
        "admission": {"clusterQueue": "cluster-queue", "podSetAssignments": []},
        "conditions": [
            {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved",
             "message": "Quota reserved in ClusterQueue cluster-queue", "lastTransitionTime": "2026-11-29T16:10:00Z"},
            {"type": "Admitted", "status": "True", "reason": "Admitted", "message": "The workload is admitted",
             "lastTransitionTime": "2026-11-29T16:10:00Z"}]}, namespace="ml")
    for _ in range(100):
        await asyncio.sleep(0.05)
        if big().admission.admitted:
            break
    assert big().admission.admitted and big().admission.cluster_queue == "cluster-queue"
    await collector.stop()
