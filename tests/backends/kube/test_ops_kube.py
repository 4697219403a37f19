"""Kubernetes actions through the real dispatcher (audit, confirmation) and the adapter, against
the fake apiserver; MLflow is a real MLflow registry on SQLite; the KServe data plane (which
cannot run here) is a small aiohttp server speaking the v2 open inference protocol."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from cockpit.actions import ActionRefused, InvalidParams, NeedsConfirmation, local_actor
from cockpit.config import parse_config
from cockpit.runtime import build_runtime
from tests.fakes.kube_apiserver import INFERENCESERVICE, JOB, LOCALQUEUE, MPIJOB_V2, POD, PYTORCHJOB, RESOURCEQUOTA

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOB_PARAMS = {"kind": "MPIJob", "name": "mnist", "namespace": "default", "image": "horovod/horovod:0.28",
              "command": ["python", "train.py"], "workers": 2, "gpus": 1, "cpu": "2", "memory": "4Gi"}


@pytest.fixture
async def runtime(fake, kubeconfig, tmp_path):
    text = (f"cockpit:\n  kubernetes:\n    kubeconfig: {kubeconfig}\n"
            f"  mlflow:\n    tracking_uri: sqlite:///{tmp_path}/mlflow.db\n")
    rt = build_runtime(parse_config(text, "test.yaml", env={}), sources=("kubernetes", "mlflow"),
                       audit_path=tmp_path / "audit.jsonl")
    yield rt
    await rt.close()


def audit(tmp_path):
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


async def test_delete_pod_needs_confirmation_and_is_audited(fake, runtime, tmp_path):
    fake.put(POD, {"metadata": {"name": "victim"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    with pytest.raises(NeedsConfirmation, match="Delete pod default/victim"):
        await runtime.invoke("kube.pod.delete", {"name": "victim"}, confirmed=False)
    assert fake.get(POD, "victim") is not None
    result = await runtime.invoke("kube.pod.delete", {"name": "victim"})
    assert result.ok, result.error
    assert fake.get(POD, "victim") is None
    assert [e["event"] for e in audit(tmp_path)][-2:] == ["action.start", "action.end"]
    assert "s3cr3t-token" not in (tmp_path / "audit.jsonl").read_text()


async def test_describe_pod_with_events_and_logs_of_a_chosen_container(fake, runtime):
    p = fake.put(POD, {"metadata": {"name": "mnist-launcher"}, "spec": {"containers": [
        {"name": "launcher", "image": "x"}, {"name": "sidecar", "image": "y"}]}, "status": {"phase": "Pending"}})
    fake.add_event(p, "FailedScheduling", "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.", "Warning")
    fake.add_event({"kind": "Pod", "metadata": {"name": "other", "namespace": "default", "uid": "x"}}, "Pulled", "no")
    result = await runtime.invoke("kube.pod.describe", {"name": "mnist-launcher"})
    assert result.ok, result.error
    assert [e["reason"] for e in result.result["events"]] == ["FailedScheduling"]
    assert [c["name"] for c in result.result["containers"]] == ["launcher", "sidecar"]
    fake.append_log("default", "mnist-launcher", "launcher", "epoch 1 loss 0.9", "epoch 2 loss 0.5")
    result = await runtime.invoke("kube.pod.logs", {"name": "mnist-launcher", "container": "launcher",
                                                    "tail_lines": 1})
    assert result.result["lines"] == ["epoch 2 loss 0.5"]  # no trailing newline
    result = await runtime.invoke("kube.pod.logs", {"name": "mnist-launcher"})
    assert not result.ok and "choose one of: [launcher sidecar]" in result.error


async def test_follow_logs_streams_lines_as_progress(fake, runtime):
    fake.put(POD, {"metadata": {"name": "w"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    fake.append_log("default", "w", "c", "start")
    seen = []

    async def writer():
        await asyncio.sleep(0.2)
        fake.append_log("default", "w", "c", "step 1", "step 2")
        await asyncio.sleep(0.1)
        fake.remove(POD, "w")

    task = asyncio.create_task(writer())
    result = await runtime.dispatcher.invoke("kube.pod.logs", {"name": "w", "follow": True, "max_seconds": 5},
                                             actor=local_actor("test"), progress=seen.append)
    await task
    assert seen == ["start", "step 1", "step 2"] and result.result["count"] == 3


async def test_create_job_refuses_when_quota_would_not_fit(fake, runtime):
    fake.install_crd(MPIJOB_V2)
    fake.put(RESOURCEQUOTA, {"metadata": {"name": "gpu-quota"}, "spec": {"hard": {"requests.nvidia.com/gpu": "2"}},
                             "status": {"hard": {"requests.nvidia.com/gpu": "2"},
                                        "used": {"requests.nvidia.com/gpu": "1"}}})
    check = await runtime.invoke("kube.quota.check", JOB_PARAMS)
    assert check.result["fits"] is False
    assert check.result["shortfalls"] == ["requests.nvidia.com/gpu in quota gpu-quota: used 1, available 1 of 2, "
                                          "requested 2"]
    with pytest.raises(ActionRefused, match="used 1, available 1 of 2, requested 2"):
        await runtime.invoke("kube.job.create", JOB_PARAMS)
    assert fake.get(MPIJOB_V2, "mnist") is None


async def test_create_job_adds_kueue_label_when_a_local_queue_exists(fake, runtime):
    fake.install_crd(MPIJOB_V2)
    fake.install_crd(LOCALQUEUE)
    fake.put(LOCALQUEUE, {"metadata": {"name": "team-a"}, "spec": {"clusterQueue": "cluster"}})
    result = await runtime.invoke("kube.job.create", JOB_PARAMS)
    assert result.ok, result.error
    created = fake.get(MPIJOB_V2, "mnist")
    assert created["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    assert created["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"] == 2
    again = await runtime.invoke("kube.job.create", JOB_PARAMS)
    assert not again.ok and "already exists" in again.error
    with pytest.raises(ActionRefused, match="LocalQueue 'nope' does not exist"):
        await runtime.invoke("kube.job.create", {**JOB_PARAMS, "name": "other", "queue": "nope"})


async def test_create_job_for_a_missing_crd_is_refused_clearly(fake, runtime):
    result = await runtime.invoke("kube.job.create", {**JOB_PARAMS, "kind": "PyTorchJob"})
    assert not result.ok and "PyTorchJob is not installed on this cluster" in result.error


async def test_delete_job_sends_an_explicit_propagation_policy(fake, runtime):
    fake.install_crd(PYTORCHJOB)
    fake.put(PYTORCHJOB, {"metadata": {"name": "bert"}, "spec": {}})
    fake.put(JOB, {"metadata": {"name": "etl"}, "spec": {}})
    prepared = runtime.dispatcher.prepare("kube.job.delete", {"kind": "Job", "name": "etl"})
    assert "propagationPolicy=Foreground: its pods are deleted first" in prepared.confirmation
    for kind, name, policy in (("PyTorchJob", "bert", "Background"), ("Job", "etl", "Foreground")):
        result = await runtime.invoke("kube.job.delete", {"kind": kind, "name": name, "propagation_policy": policy})
        assert result.ok, result.error
    assert [(d["name"], d["policy"]) for d in fake.deletions] == [("bert", "Background"), ("etl", "Foreground")]


async def test_custom_objects_are_patched_with_merge_patch(fake, runtime):
    """kubernetes-asyncio would send json-patch for a dict body; the adapter must not."""
    from backends.kube import operations as ops
    from backends.kube.resources import CANDIDATES

    fake.install_crd(PYTORCHJOB)
    fake.put(PYTORCHJOB, {"metadata": {"name": "bert"}, "spec": {"runPolicy": {"suspend": False}}})
    source = runtime.adapter("kubernetes")
    res = CANDIDATES["pytorchjobs"][0]
    out = await ops.merge_patch(source, res, "default", "bert", {"spec": {"runPolicy": {"suspend": True}}})
    assert out["spec"]["runPolicy"]["suspend"] is True and out["metadata"]["generation"] == 2
    assert fake.requests[-1] == ("PATCH", "/apis/kubeflow.org/v1/namespaces/default/pytorchjobs/bert",
                                 "application/merge-patch+json")


async def test_deploy_inference_service_from_an_mlflow_model_version(fake, runtime):
    from mlflow.tracking import MlflowClient

    fake.install_crd(INFERENCESERVICE)
    client = runtime.adapter("mlflow").client()

    def register():
        client.create_registered_model("iris_classifier")
        v = client.create_model_version("iris_classifier", source="s3://mlflow/artifacts/1/abc/artifacts/model")
        client.set_registered_model_alias("iris_classifier", "champion", v.version)

    await asyncio.to_thread(register)
    assert isinstance(client, MlflowClient)
    result = await runtime.invoke("kube.isvc.deploy", {"model": "iris_classifier", "version": "champion", "gpus": 1})
    assert result.ok, result.error
    isvc = fake.get(INFERENCESERVICE, "iris-classifier")
    model = isvc["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://mlflow/artifacts/1/abc/artifacts/model"
    assert model["modelFormat"] == {"name": "mlflow"} and model["protocolVersion"] == "v2"
    assert model["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert isvc["metadata"]["annotations"]["cockpit/mlflow-version"] == "1"
    missing = await runtime.invoke("kube.isvc.deploy", {"model": "iris_classifier", "version": "7"})
    assert not missing.ok


@pytest.fixture
async def model_server():
    """A stand-in KServe predictor speaking the v2 protocol, ~2 ms per request."""
    calls = []

    async def infer(request):
        body = await request.json()
        calls.append((request.match_info["model"], body))
        await asyncio.sleep(0.002)
        return web.json_response({"model_name": request.match_info["model"], "outputs": [
            {"name": "output-0", "shape": [1], "datatype": "INT64", "data": [0]}]})

    app = web.Application()
    app.router.add_post("/v2/models/{model}/infer", infer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", calls
    await runner.cleanup()


async def test_inference_check_reports_latency_and_throughput(fake, runtime, model_server):
    url, calls = model_server
    fake.install_crd(INFERENCESERVICE)
    fake.put(INFERENCESERVICE, {"metadata": {"name": "iris"}, "spec": {"predictor": {"model": {
        "modelFormat": {"name": "mlflow"}, "protocolVersion": "v2", "storageUri": "s3://x",
        "resources": {"limits": {"nvidia.com/gpu": 1}}}}},
        "status": {"url": url, "conditions": [{"type": "Ready", "status": "True"}]}})
    result = await runtime.invoke("kube.isvc.check", {"name": "iris", "requests": 60, "concurrency": 4})
    assert result.ok, result.error
    r = result.result
    assert (r["requests"], r["ok"], r["errors"], r["gpus"], r["protocol"]) == (60, 60, 0, 1, "v2")
    assert len(calls) == 60 and calls[0][0] == "iris" and calls[0][1]["inputs"][0]["datatype"] == "FP32"
    assert 2.0 <= r["p50_ms"] <= r["p95_ms"] < 500
    assert r["req_per_s"] > 0 and r["checks"]["p95_ms_below_500"] is True
    assert r["summary"].startswith(("PASS", "FAIL")) and "p95" in r["summary"]


async def test_inference_check_without_url_or_kserve_is_refused(fake, runtime):
    with pytest.raises(ActionRefused, match="KServe is not installed"):
        await runtime.invoke("kube.isvc.check", {"name": "iris"})
    fake.install_crd(INFERENCESERVICE)
    fake.put(INFERENCESERVICE, {"metadata": {"name": "iris"}, "spec": {"predictor": {}}})
    with pytest.raises(ActionRefused, match="has no URL yet"):
        await runtime.invoke("kube.isvc.check", {"name": "iris"})


async def test_delete_inference_service_is_confirmed_explicit_and_collects_its_pods(fake, runtime, tmp_path):
    fake.install_crd(INFERENCESERVICE)
    isvc = fake.put(INFERENCESERVICE, {"metadata": {"name": "mnist"}, "spec": {"predictor": {}}})
    owner = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "name": "mnist",
             "uid": isvc["metadata"]["uid"], "controller": True}
    fake.put(POD, {"metadata": {"name": "mnist-predictor-0", "ownerReferences": [owner]},
                   "spec": {"containers": [{"name": "kserve-container", "image": "x"}]}})
    with pytest.raises(NeedsConfirmation, match="Delete InferenceService default/mnist with propagationPolicy="
                                                "Foreground: its predictor"):
        await runtime.invoke("kube.isvc.delete", {"name": "mnist"}, confirmed=False)
    assert fake.get(INFERENCESERVICE, "mnist") is not None and not fake.deletions
    result = await runtime.invoke("kube.isvc.delete", {"name": "mnist"})
    assert result.ok, result.error
    assert result.result == {"deleted": "InferenceService/default/mnist", "propagation_policy": "Foreground"}
    assert fake.get(INFERENCESERVICE, "mnist") is None and fake.get(POD, "mnist-predictor-0") is None
    assert fake.deletions == [{"resource": "inferenceservices.serving.kserve.io", "namespace": "default",
                               "name": "mnist", "policy": "Foreground"}]
    assert [e["action"] for e in audit(tmp_path) if e["event"] == "action.end"][-1] == "kube.isvc.delete"
    again = await runtime.invoke("kube.isvc.delete", {"name": "mnist"})
    assert not again.ok and "not found" in again.error


async def test_delete_inference_service_without_kserve_is_refused(fake, runtime):
    with pytest.raises(ActionRefused, match="KServe is not installed"):
        await runtime.invoke("kube.isvc.delete", {"name": "mnist", "namespace": "serving"})
    assert not fake.deletions


async def test_inference_check_sends_an_input_of_the_model_shape(fake, runtime, model_server):
    url, calls = model_server
    fake.install_crd(INFERENCESERVICE)
    fake.put(INFERENCESERVICE, {"metadata": {"name": "digits"}, "spec": {"predictor": {"model": {
        "modelFormat": {"name": "mlflow"}, "protocolVersion": "v2", "storageUri": "s3://x"}}},
        "status": {"url": url, "conditions": [{"type": "Ready", "status": "True"}]}})
    result = await runtime.invoke("kube.isvc.check", {"name": "digits", "requests": 3, "concurrency": 1,
                                                      "input_shape": [1, 1, 8, 8]})
    assert result.ok, result.error
    tensor = calls[0][1]["inputs"][0]
    assert tensor["shape"] == [1, 1, 8, 8] and len(tensor["data"]) == 64 and tensor["datatype"] == "FP32"
    with pytest.raises(InvalidParams, match="input_shape"):
        await runtime.invoke("kube.isvc.check", {"name": "digits", "input_shape": [1, 0]})


async def test_deploy_maps_mlflow_artifacts_and_refuses_host_only_artifacts(fake, kubeconfig, tmp_path):
    """The MLflow -> KServe hand-off: an mlflow-artifacts: version maps onto the server's
    --artifacts-destination from config, the service account comes from config, and a version
    whose artifacts are a path on the cockpit host is refused with nothing created."""
    fake.install_crd(INFERENCESERVICE)
    text = (f"cockpit:\n  kubernetes:\n    kubeconfig: {kubeconfig}\n"
            f"    inference: {{artifacts_destination: 's3://mlflow-store/artifacts', service_account: kserve-s3}}\n"
            f"  mlflow:\n    tracking_uri: sqlite:///{tmp_path}/mlflow.db\n")
    rt = build_runtime(parse_config(text, "test.yaml", env={}), sources=("kubernetes", "mlflow"),
                       audit_path=tmp_path / "audit.jsonl")
    try:
        client = rt.adapter("mlflow").client()

        def register():
            client.create_registered_model("proxied")
            client.create_model_version("proxied", source="mlflow-artifacts:/7/abc123/artifacts/model")
            client.create_registered_model("local_only")
            client.create_model_version("local_only", source=f"{tmp_path}/mlruns/0/def456/artifacts/model")

        await asyncio.to_thread(register)
        ok = await rt.invoke("kube.isvc.deploy", {"model": "proxied", "version": "1"})
        assert ok.ok, ok.error
        assert ok.result["storage_uri"] == "s3://mlflow-store/artifacts/7/abc123/artifacts/model"
        assert ok.result["artifact_uri"] == "mlflow-artifacts:/7/abc123/artifacts/model"
        predictor = fake.get(INFERENCESERVICE, "proxied")["spec"]["predictor"]
        assert predictor["serviceAccountName"] == "kserve-s3"
        assert predictor["model"]["storageUri"] == "s3://mlflow-store/artifacts/7/abc123/artifacts/model"

        from cockpit.actions import ActionRefused

        with pytest.raises(ActionRefused, match="live only on the cockpit host") as refused:
            await rt.invoke("kube.isvc.deploy", {"model": "local_only", "version": "1"})
        assert str(tmp_path) in str(refused.value)
        assert fake.get(INFERENCESERVICE, "local-only") is None  # nothing half-done
    finally:
        await rt.close()


async def test_inference_check_with_url_protocol_and_gpus_needs_no_inference_service(fake, runtime, model_server):
    """The lab's local predictor (kserve.local.start): nothing to read from the cluster, and no
    InferenceService CRD is even installed here."""
    url, calls = model_server
    result = await runtime.invoke("kube.isvc.check", {"name": "mnist", "requests": 10, "concurrency": 2,
                                                      "url": url, "protocol": "v2", "gpus": 0,
                                                      "input_shape": [1, 1, 8, 8]})
    assert result.ok, result.error
    r = result.result
    assert (r["ok"], r["errors"], r["gpus"], r["url"]) == (10, 0, 0, f"{url}/v2/models/mnist/infer")
    assert len(calls) == 10 and calls[0][1]["inputs"][0]["shape"] == [1, 1, 8, 8]
    assert not [req for req in fake.requests if "inferenceservices" in req[1]]
    # without gpus the service is still read (the predictor's GPU count), and here there is none
    with pytest.raises(ActionRefused, match="KServe is not installed"):
        await runtime.invoke("kube.isvc.check", {"name": "mnist", "url": url, "protocol": "v2"})


async def test_deploy_for_the_labs_local_predictor_names_local_artifacts_as_file(fake, runtime, tmp_path):
    fake.install_crd(INFERENCESERVICE)
    client = runtime.adapter("mlflow").client()
    local = tmp_path / "mlruns" / "1" / "models" / "m-1" / "artifacts"

    def register():
        client.create_registered_model("digits")
        client.create_model_version("digits", source=str(local))

    await asyncio.to_thread(register)
    with pytest.raises(ActionRefused, match="live only on the cockpit host"):
        await runtime.invoke("kube.isvc.deploy", {"model": "digits", "version": "1"})
    result = await runtime.invoke("kube.isvc.deploy", {"model": "digits", "version": "1", "local_predictor": True})
    assert result.ok, result.error
    model = fake.get(INFERENCESERVICE, "digits")["spec"]["predictor"]["model"]
    assert model["storageUri"] == local.as_uri() == result.result["storage_uri"]
