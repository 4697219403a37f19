"""The pods table's STATUS cell and the pod detail say why a pod waits and what would help
(screens/render/kubernetes.py), on the pods of tests/fixtures/kube-pods."""

from __future__ import annotations

import json
from pathlib import Path

from backends.kube.models import PodItem
from screens.render.kubernetes import COLUMNS, detail

PODS = [PodItem.from_api(p) for p in json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "kube-pods" / "pending_pods.json").read_text())]


def status_cell(item) -> str:
    column = next(c for c in COLUMNS if c.title == "STATUS")
    return column.value(item)


def test_status_cell_pairs_kubectls_reason_with_why():
    by_name = {p.name: p for p in PODS}
    assert status_cell(by_name["insufficient-gpu"]) == "Unschedulable: not enough free GPUs on 3 nodes"
    assert status_cell(by_name["kueue-gated"]) == "SchedulingGated: waits for Kueue admission"


def test_detail_says_why_and_what_to_do():
    text = detail(next(p for p in PODS if p.name == "taint-and-gpu"))
    lines = text.splitlines()
    assert any(line.startswith("why waiting") and "untolerated" not in line and "taint" in line for line in lines)
    assert any(line.startswith("what to do") and "toleration" in line for line in lines)


def test_a_queued_suspended_job_waits_for_kueue_admission():
    from backends.kube.models import TrainingJobItem
    from screens.render.kubernetes import JOB_COLUMNS, job_wait_lines

    # A PyTorchJob as the training operator reports a suspended one (condition Suspended=True),
    # labelled for a Kueue LocalQueue.
    obj = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
           "metadata": {"name": "ddp", "namespace": "ml", "uid": "u1", "labels": {"kueue.x-k8s.io/queue-name": "team-a"}},
           "spec": {"runPolicy": {"suspend": True}, "pytorchReplicaSpecs": {}},
           "status": {"conditions": [{"type": "Created", "status": "True"},
                                     {"type": "Suspended", "status": "True", "reason": "PyTorchJobSuspended"}]}}
    job = TrainingJobItem.from_api("PyTorchJob", obj)
    state = next(c for c in JOB_COLUMNS if c.title == "STATE")
    assert state.value(job) == "Suspended: waits for Kueue admission"
    lines = job_wait_lines(job)
    assert "queue team-a" in lines[0] and "ClusterQueue" in lines[1]
    unqueued = TrainingJobItem.from_api("PyTorchJob", {**obj, "metadata": {**obj["metadata"], "labels": {}}})
    assert state.value(unqueued) == "Suspended" and job_wait_lines(unqueued) == []
    # with its Kueue Workload read (tests/fixtures/kueue): Kueue's own reason instead of the general one
    from backends.kube.models import WorkloadItem

    workloads = {w["metadata"]["name"]: WorkloadItem.from_api(w) for w in json.loads(
        (Path(__file__).resolve().parents[1] / "fixtures" / "kueue" / "workloads.json").read_text())["items"]}
    held = job.model_copy(update={"admission": workloads["job-train-big-3f1c9"].admission})
    assert state.value(held) == "Suspended: Kueue quota: 2 more nvidia.com/gpu"
    why, todo = job_wait_lines(held)
    assert "needs 2 more nvidia.com/gpu in flavor gpu-flavor" in why and "nominalQuota" in todo
    admitted = job.model_copy(update={"admission": workloads["job-train-small-c41e7"].admission})
    assert state.value(admitted) == "Suspended"  # admitted: Kueue resumes it next, it does not wait for admission


def test_a_pod_kueue_gates_says_its_workloads_reason():
    from backends.kube.models import WorkloadItem

    gated = next(p for p in PODS if p.name == "kueue-gated")
    doc = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "kueue" / "workloads.json").read_text())
    workload = WorkloadItem.from_api(next(w for w in doc["items"] if w["metadata"]["name"] == "pod-notebook-0-6e9f1"))
    pod = gated.model_copy(update={"admission": workload.admission})
    assert status_cell(pod) == "SchedulingGated: Kueue: over the whole nvidia.com/gpu quota"
    lines = detail(pod).splitlines()
    assert any(line.startswith("what to do") and "nominalQuota for nvidia.com/gpu in flavor gpu-flavor" in line
               for line in lines)
