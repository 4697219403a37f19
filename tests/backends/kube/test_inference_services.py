"""InferenceServices in the Kubernetes pane: ready, URL, traffic split, model and version, through
the fake apiserver and the real source.

The objects are shaped per KServe's own API, serving.kserve.io/v1beta1 (kserve/kserve
pkg/apis/serving/v1beta1/inference_service_status.go at commit 0217bdab: status.url,
status.components.predictor.traffic as Knative TrafficTargets with tag, revisionName,
latestRevision, percent; spec.predictor.canaryTrafficPercent from the canary rollout sample
docs/samples/v1beta1/rollout/README.md), plus the annotations kube.isvc.deploy writes
(cockpit/ops/kube.py)."""

from __future__ import annotations

import json

import pytest

from backends.kube.source import KubeSource
from cockpit.hub import Collector, Timing
from cockpit.snapshot import Status
from screens.render.kubernetes import ISVC_COLUMNS, NODE_COLUMNS
from tests.backends.kube.test_source import gpu_node, gpu_pod
from tests.fakes.kube_apiserver import INFERENCESERVICE, NODE, POD

pytestmark = pytest.mark.asyncio(loop_scope="session")

CANARY = {
    "metadata": {"name": "iris-classifier",
                 "annotations": {"cockpit/mlflow-model": "iris_classifier", "cockpit/mlflow-version": "2"}},
    "spec": {"predictor": {"canaryTrafficPercent": 10, "model": {
        "modelFormat": {"name": "mlflow"}, "protocolVersion": "v2", "storageUri": "s3://models/iris/2"}}},
    "status": {
        "url": "http://iris-classifier.default.example.com",
        "conditions": [{"type": "IngressReady", "status": "True"}, {"type": "PredictorReady", "status": "True"},
                       {"type": "Ready", "status": "True"}],
        "components": {"predictor": {
            "latestCreatedRevision": "iris-classifier-predictor-00002",
            "latestReadyRevision": "iris-classifier-predictor-00002",
            "previousRolledoutRevision": "iris-classifier-predictor-00001",
            "traffic": [
                {"tag": "latest", "revisionName": "iris-classifier-predictor-00002", "latestRevision": True,
                 "percent": 10, "url": "http://latest-iris-classifier-predictor.default.example.com"},
                {"tag": "prev", "revisionName": "iris-classifier-predictor-00001", "latestRevision": False,
                 "percent": 90, "url": "http://prev-iris-classifier-predictor.default.example.com"},
            ]}},
    },
}

# Just applied: KServe has not reported a status yet.
NEW = {"metadata": {"name": "flowers"}, "spec": {"predictor": {"canaryTrafficPercent": 20, "tensorflow": {
    "storageUri": "gs://kfserving-examples/models/tensorflow/flowers-2"}}}}


def cells(columns, item) -> dict:
    return {c.title: c.value(item) for c in columns}


async def test_traffic_split_model_and_version(fake, kubeconfig):
    fake.install_crd(INFERENCESERVICE)
    fake.put(INFERENCESERVICE, CANARY)
    fake.put(INFERENCESERVICE, NEW)
    snap = await Collector(KubeSource(kubeconfig), Timing()).fetch_once()
    assert snap.status is Status.OK, snap.error
    isvcs = {s.name: s for s in snap.sections["inference_services"]}

    iris = isvcs["iris-classifier"]
    assert (iris.ready, iris.url, iris.canary_percent) == (True, "http://iris-classifier.default.example.com", 10)
    assert [(t["tag"], t["percent"], t["latest"]) for t in iris.traffic] == [("latest", 10, True), ("prev", 90, False)]
    row = cells(ISVC_COLUMNS, iris)
    assert row["TRAFFIC"] == "10% latest, 90% prev"
    assert row["MODEL"] == "iris_classifier v2" and row["FORMAT"] == "mlflow v2"
    assert row["READY"] == "True" and row["URL"] == "http://iris-classifier.default.example.com"
    # the JSON contract carries the split too
    doc = json.loads(json.dumps(snap.to_json()))
    assert doc["inference_services"][1]["traffic"][1]["revision"] == "iris-classifier-predictor-00001"

    flowers = cells(ISVC_COLUMNS, isvcs["flowers"])
    assert flowers["TRAFFIC"] == "canary 20% requested"  # no split reported yet
    assert flowers["MODEL"] == "gs://kfserving-examples/models/tensorflow/flowers-2"  # not deployed by the cockpit
    assert flowers["READY"].startswith("False")


async def test_node_gpu_capacity_and_allocation(fake, kubeconfig):
    fake.put(NODE, gpu_node("cloud-gpu-1", gpus=4))
    fake.put(POD, gpu_pod("serve-0", "cloud-gpu-1", gpus=1))
    fake.put(POD, gpu_pod("train-0", "cloud-gpu-1", gpus=2))
    fake.put(POD, gpu_pod("done-0", "cloud-gpu-1", gpus=1, phase="Succeeded"))  # finished: not allocated
    snap = await Collector(KubeSource(kubeconfig), Timing()).fetch_once()
    node = snap.sections["nodes"][0]
    assert cells(NODE_COLUMNS, node)["GPUS alloc/allocatable/cap"] == "3/4/4"
