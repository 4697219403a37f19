"""Pure Kubernetes decisions: pod status, GPU arithmetic, job states, quota fit, manifests, stats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from cockpit import kube_status as ks
from cockpit.kube_inference import percentile, request_for, summarize
from cockpit.kube_manifests import KUEUE_QUEUE_LABEL, TrainingJobSpec, render_training_job
from cockpit.kube_quota import check_quota, parse_quantity, workload_requests


def pod(phase="Running", statuses=(), init=(), conditions=(), deleting=False, **spec):
    p = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], **spec},
         "status": {"phase": phase, "containerStatuses": list(statuses), "initContainerStatuses": list(init),
                    "conditions": list(conditions)}}
    if deleting:
        p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return p


@pytest.mark.parametrize("p, want", [
    (pod(statuses=[{"ready": True, "state": {"running": {}}}]), ("Running", "Running")),
    (pod(statuses=[{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]), ("Running", "CrashLoopBackOff")),
    (pod("Pending", statuses=[{"state": {"waiting": {"reason": "ImagePullBackOff", "message": "pull x"}}}]),
     ("Pending", "ImagePullBackOff")),
    (pod("Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]),
     ("Pending", "Unschedulable")),
    (pod("Pending", init=[{"state": {"running": {}}}], initContainers=[{"name": "i"}]), ("Pending", "Init:0/1")),
    (pod("Pending", init=[{"state": {"waiting": {"reason": "ErrImagePull"}}}], initContainers=[{"name": "i"}]),
     ("Pending", "Init:ErrImagePull")),
    (pod("Failed", statuses=[{"state": {"terminated": {"exitCode": 137, "signal": 9}}}]), ("Failed", "Signal:9")),
    (pod("Failed", statuses=[{"state": {"terminated": {"exitCode": 3}}}]), ("Failed", "ExitCode:3")),
    (pod("Succeeded", statuses=[{"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]),
     ("Succeeded", "Completed")),
    (pod(deleting=True, statuses=[{"ready": True, "state": {"running": {}}}]), ("Running", "Terminating")),
    ({"metadata": {"name": "evicted"}, "status": {"phase": "Failed", "reason": "Evicted"}}, ("Failed", "Evicted")),
])
def test_pod_status_like_kubectl(p, want):
    assert ks.pod_status(p)[:2] == want


def test_pending_pod_carries_the_schedulers_message():
    p = pod("Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                    "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}])
    assert ks.pod_status(p)[2] == "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."


def test_gpu_requests_limits_and_init_containers():
    p = {"spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "2"}}},
                                 {"resources": {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}}}],
                  "initContainers": [{"resources": {"limits": {"nvidia.com/gpu": 4}}}]}}
    assert ks.pod_gpus(p) == 4
    p["spec"]["initContainers"] = []
    assert ks.pod_gpus(p) == 3
    assert ks.gpus_allocated([("n1", "Running", 2), ("n1", "Pending", 1), ("n1", "Succeeded", 4),
                              (None, "Pending", 8), ("n2", "Failed", 1)]) == {"n1": 3}


@pytest.mark.parametrize("kind, conds, status, want", [
    ("MPIJob", [("Created", "True"), ("Running", "True")], {}, "Running"),
    ("MPIJob", [("Created", "True"), ("Running", "False"), ("Succeeded", "True")], {}, "Succeeded"),
    ("PyTorchJob", [("Created", "True"), ("Restarting", "True")], {}, "Restarting"),
    ("PyTorchJob", [("Created", "True"), ("Failed", "True")], {}, "Failed"),
    ("PyTorchJob", [("Suspended", "True")], {}, "Suspended"),
    ("PyTorchJob", [], {}, "Pending"),
    ("Job", [("Complete", "True")], {"succeeded": 1}, "Succeeded"),
    ("Job", [], {"active": 2}, "Running"),
    ("Job", [("Failed", "True")], {}, "Failed"),
])
def test_job_state(kind, conds, status, want):
    obj = {"status": {**status, "conditions": [{"type": t, "status": s} for t, s in conds]}}
    assert ks.job_state(kind, obj) == want


def test_quantities():
    assert parse_quantity("500m") == Decimal("0.5")
    assert parse_quantity("1Gi") == 2 ** 30
    assert parse_quantity("2k") == 2000
    assert parse_quantity("1e3") == 1000
    assert parse_quantity(3) == 3
    for bad in ("1.2.3", "5mi", "x", ""):
        with pytest.raises(ValueError, match="not a Kubernetes quantity"):
            parse_quantity(bad)


def spec(**kw):
    return TrainingJobSpec(**{"name": "mnist", "image": "horovod/horovod:0.28", "command": ["python", "train.py"],
                              "workers": 4, "gpus": 1, "cpu": "2", "memory": "8Gi", **kw})


def test_quota_fit_says_used_available_requested():
    _, manifest = render_training_job(spec())
    req = workload_requests(manifest)
    assert req["requests.nvidia.com/gpu"] == 4 and req["pods"] == 5
    quota = {"metadata": {"name": "team-a"}, "status": {
        "hard": {"requests.nvidia.com/gpu": "4", "requests.cpu": "20", "requests.memory": "64Gi", "pods": "10"},
        "used": {"requests.nvidia.com/gpu": "1", "requests.cpu": "2", "requests.memory": "8Gi", "pods": "1"}}}
    check = check_quota("ml", [quota], req)
    assert not check.fits
    assert [s.resource for s in check.shortfalls] == ["requests.nvidia.com/gpu"]
    assert check.summary() == ("would not fit in namespace ml: requests.nvidia.com/gpu in quota team-a: "
                               "used 1, available 3 of 4, requested 4")
    quota["status"]["used"]["requests.nvidia.com/gpu"] = "0"
    assert check_quota("ml", [quota], req).fits
    assert check_quota("ml", [], req).summary() == "namespace ml has no ResourceQuota"


def test_quota_bare_names_mean_requests_and_memory_is_readable():
    quota = {"metadata": {"name": "q"}, "spec": {"hard": {"memory": "16Gi"}}}
    check = check_quota("ml", [quota], {"requests.memory": parse_quantity("34Gi")})
    assert "used 0, available 16Gi of 16Gi, requested 34Gi" in check.summary()


def test_mpijob_manifest_and_kueue_label():
    text, m = render_training_job(spec(env={"NCCL_DEBUG": "INFO"},
                                       volumes=[{"name": "data", "mount_path": "/data", "host_path": "/mnt/beegfs"}]),
                                  queue="team-a-queue")
    assert m["apiVersion"] == "kubeflow.org/v2beta1" and m["kind"] == "MPIJob"
    assert m["metadata"]["labels"][KUEUE_QUEUE_LABEL] == "team-a-queue"
    worker = m["spec"]["mpiReplicaSpecs"]["Worker"]
    assert worker["replicas"] == 4
    c = worker["template"]["spec"]["containers"][0]
    assert c["resources"]["limits"] == {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": 1}
    assert c["env"] == [{"name": "NCCL_DEBUG", "value": "INFO"}]
    assert worker["template"]["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/mnt/beegfs",
                                                                                  "type": "Directory"}}]
    launcher = m["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    assert launcher["command"][:4] == ["mpirun", "--allow-run-as-root", "-np", "4"]
    assert launcher["command"][-2:] == ["python", "train.py"]
    assert KUEUE_QUEUE_LABEL not in render_training_job(spec())[1]["metadata"]["labels"]


def test_pytorchjob_splits_master_and_workers():
    _, m = render_training_job(spec(kind="PyTorchJob", workers=3))
    specs = m["spec"]["pytorchReplicaSpecs"]
    assert (specs["Master"]["replicas"], specs["Worker"]["replicas"]) == (1, 2)
    assert specs["Master"]["template"]["spec"]["containers"][0]["name"] == "pytorch"
    _, single = render_training_job(spec(kind="PyTorchJob", workers=1))
    assert "Worker" not in single["spec"]["pytorchReplicaSpecs"]


def test_hostile_strings_stay_strings():
    _, m = render_training_job(spec(command=["sh", "-c", "echo 'a: b' && {x}\n- y"], env={"A": "yes"}))
    assert m["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]["command"][-1] == \
        "echo 'a: b' && {x}\n- y"
    assert m["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "yes"


@pytest.mark.parametrize("bad, field", [({"name": "Bad_Name"}, "name"), ({"cpu": "lots"}, "cpu"),
                                        ({"workers": 0}, "workers"), ({"env": {"1X": "a"}}, "env"),
                                        ({"volumes": [{"name": "v", "mount_path": "rel", "claim": "c"}]}, "volumes")])
def test_bad_wizard_input_names_the_field(bad, field):
    with pytest.raises(ValidationError) as err:
        spec(**bad)
    assert err.value.errors()[0]["loc"][0] == field


def test_latency_summary_against_the_seed_targets():
    assert percentile([5, 1, 4, 2, 3], 50) == 3 and percentile([1] * 19 + [100], 95) == 1
    assert percentile(list(range(1, 101)), 95) == 95 and percentile([], 50) is None
    good = summarize([0.01] * 95 + [0.2] * 5, errors=0, elapsed_s=1.0, gpus=1)
    assert (good["p50_ms"], good["p95_ms"], good["req_per_s"], good["verdict"]) == (10.0, 10.0, 100.0, "pass")
    slow = summarize([0.6] * 100, errors=0, elapsed_s=1.0, gpus=1)
    assert slow["verdict"] == "fail" and slow["checks"]["p95_ms_below_500"] is False
    starved = summarize([0.01] * 100, errors=0, elapsed_s=1.0, gpus=4)  # 25 req/s per GPU
    assert starved["checks"]["req_per_s_per_gpu_above_50"] is False
    assert "req/s per GPU (target > 50)" in starved["summary"]
    assert summarize([0.01] * 10, errors=1, elapsed_s=1, gpus=0)["verdict"] == "fail"


def test_kserve_protocol_requests():
    url, body = request_for("v2", "iris", "http://h/")
    assert url == "http://h/v2/models/iris/infer" and body["inputs"][0]["datatype"] == "FP32"
    url, body = request_for("v1", "iris", "http://h")
    assert url == "http://h/v1/models/iris:predict" and "instances" in body


def test_kserve_requests_of_a_given_input_shape():
    _, body = request_for("v2", "mnist", "http://h", shape=[2, 1, 28, 28])
    tensor = body["inputs"][0]
    assert tensor["shape"] == [2, 1, 28, 28] and len(tensor["data"]) == 2 * 28 * 28
    _, body = request_for("v1", "digits", "http://h", shape=[1, 1, 8, 8])
    rows = body["instances"]
    assert len(rows) == 1 and len(rows[0]) == 1 and len(rows[0][0]) == 8 and len(rows[0][0][0]) == 8
    _, body = request_for("v2", "x", "http://h", payload={"inputs": []}, shape=[3])
    assert body == {"inputs": []}  # an explicit payload wins
