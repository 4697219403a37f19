"""Why a pod waits and what would help (cockpit/kube_waits.py), on pod objects carrying the strings
Kubernetes itself writes (tests/fixtures/kube-pods/README.md cites where each comes from), through
the same status logic the pods pane uses (cockpit/kube_status.pod_status)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.kube_status import pod_status
from cockpit.kube_waits import KUEUE_GATE, explain_pod, explain_quota, scheduler_causes

PODS = {p["metadata"]["name"]: p for p in json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "kube-pods" / "pending_pods.json").read_text())}


def wait_of(name: str):
    _, reason, message = pod_status(PODS[name])
    return reason, explain_pod(reason, message)


def test_scheduler_message_splits_into_counted_causes_without_the_preemption_part():
    _, _, message = pod_status(PODS["taint-and-gpu"])
    total, causes = scheduler_causes(message)
    assert total == 3
    assert causes == [(1, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
                      (2, "Insufficient nvidia.com/gpu")]


def test_insufficient_gpu_says_so_and_what_helps():
    reason, wait = wait_of("insufficient-gpu")
    assert reason == "Unschedulable"
    assert wait.short == "not enough free GPUs on 3 nodes"
    assert "ask for fewer" in wait.action


def test_the_cause_ruling_out_most_nodes_leads_and_every_cause_has_an_action():
    _, wait = wait_of("taint-and-gpu")
    assert wait.short == "not enough free GPUs on 2 nodes"
    assert "taint" in wait.words and "toleration" in wait.action and "fewer" in wait.action
    _, wait = wait_of("cordoned-and-selector")
    assert "cordoned: 1 node" in wait.words and "uncordon" in wait.action and "nodeSelector" in wait.action


def test_prefilter_message_names_the_missing_claim():
    _, wait = wait_of("missing-pvc")
    assert wait.short == "a volume claim of it is not bound" and "PersistentVolumeClaim" in wait.action


def test_kueue_gate_is_named_and_other_gates_are_listed():
    reason, wait = wait_of("kueue-gated")
    assert reason == "SchedulingGated" and KUEUE_GATE in pod_status(PODS["kueue-gated"])[2]
    assert wait.short == "waits for Kueue admission" and "ClusterQueue" in wait.action
    _, wait = wait_of("other-gated")
    assert wait.short == "gated (example.com/foo, example.com/bar)"


def test_quota_refusal_in_the_apiservers_words():
    # staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go, wrapped by
    # admission.NewForbidden as a controller's FailedCreate event shows it.
    text = ('Error creating: pods "train-worker-0" is forbidden: exceeded quota: gpu-quota, requested: '
            'requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=4, limited: requests.nvidia.com/gpu=4')
    wait = explain_quota(text)
    assert wait.short == "over quota gpu-quota"
    assert "limit requests.nvidia.com/gpu=4" in wait.words and "raise quota gpu-quota" in wait.action
    assert explain_quota("0/3 nodes are available: 3 Insufficient cpu.") is None


@pytest.mark.parametrize("reason", ["Running", "CrashLoopBackOff", "Completed", "ContainerCreating"])
def test_pods_that_are_not_waiting_for_a_place_get_nothing(reason):
    assert explain_pod(reason, "") is None


# -- Kueue: a Workload's conditions (tests/fixtures/kueue/README.md) ---------------------------------
WORKLOADS = {w["metadata"]["name"]: w for w in json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "kueue" / "workloads.json").read_text())["items"]}


def admission_of(name: str, **status_changes):
    from backends.kube.models import WorkloadItem

    obj = json.loads(json.dumps(WORKLOADS[name]))
    obj["status"].update(status_changes)
    return WorkloadItem.from_api(obj).admission


def test_kueue_quota_short_by_names_the_resource_flavor_and_how_much():
    from cockpit.kube_waits import explain_admission

    wait = explain_admission(admission_of("job-train-big-3f1c9"))
    assert wait.short == "Kueue quota: 2 more nvidia.com/gpu"
    assert wait.words == "no free quota in its ClusterQueue: needs 2 more nvidia.com/gpu in flavor gpu-flavor"
    # two resources short (the form of Kueue's message when several are): both said
    two = admission_of("job-train-big-3f1c9", conditions=[{
        "type": "QuotaReserved", "status": "False", "reason": "Pending",
        "message": "couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor a100, "
                   "2 more needed, insufficient unused quota for memory in flavor a100, 2Gi more needed"}])
    assert explain_admission(two).words.endswith("needs 2 more cpu in flavor a100, 2Gi more memory in flavor a100")


@pytest.mark.parametrize("message, short, action", [
    ("LocalQueue team-b doesn't exist", "Kueue: LocalQueue team-b missing", "create LocalQueue team-b"),
    ("LocalQueue team-b is inactive", "Kueue: LocalQueue team-b inactive", "kubectl describe localqueue team-b"),
    ("LocalQueue team-b is stopped", "Kueue: LocalQueue team-b stopped", "spec.stopPolicy: None"),
    ("ClusterQueue cluster-queue doesn't exist", "Kueue: ClusterQueue cluster-queue missing",
     "create ClusterQueue cluster-queue"),
    ("ClusterQueue cluster-queue is inactive", "Kueue: ClusterQueue cluster-queue inactive",
     "kubectl describe clusterqueue cluster-queue"),
])
def test_kueue_inadmissible_queues(message: str, short: str, action: str):
    """The Inadmissible messages of Kueue's workload controller (pkg/controller/core)."""
    from cockpit.kube_waits import explain_admission

    wait = explain_admission(admission_of("pytorchjob-bert-8a2d4", conditions=[
        {"type": "QuotaReserved", "status": "False", "reason": "Inadmissible", "message": message}]))
    assert wait.short == short and action in wait.action and message in wait.words


def test_kueue_admitted_reserved_and_untried():
    from cockpit.kube_waits import explain_admission

    assert explain_admission(admission_of("job-train-small-c41e7")) is None
    # quota reserved, admission checks pending (Kueue's docs: "Pending Admission Checks")
    checks = explain_admission(admission_of("job-train-small-c41e7", conditions=[
        {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved",
         "message": "Quota reserved in ClusterQueue cluster-queue"}]))
    assert checks.short == "Kueue: admission checks" and "quota reserved in cluster-queue" in checks.words
    # no condition yet (Kueue's docs: "Unattempted Workload", a StrictFIFO queue tries its head only)
    untried = explain_admission(admission_of("job-train-small-c41e7", conditions=[], admission=None))
    assert untried.short == "Kueue: not tried yet"
    # the JSON form (snapshot JSON, a recording) reads the same
    assert explain_admission(admission_of("job-train-big-3f1c9").model_dump()).short == "Kueue quota: 2 more nvidia.com/gpu"
