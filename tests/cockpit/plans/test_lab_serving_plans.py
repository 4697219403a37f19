"""mlops-5.1 and mlops-4 with `--var profile=lab`, end to end: train on the session's SLURM lab,
register in a real MLflow store, serve with the real KServe ModelServer (workloads/serve_kserve.py in
.venv-kserve) as a local process, send inference requests to it, check p95.

The Kubernetes side (InferenceService create, readiness, delete) goes to the fake apiserver
(tests/fakes/kube_apiserver.py) through KUBECONFIG, as on a cluster. No KServe controller runs
there, so `isvc_controller` plays its one visible part: it reports a new InferenceService Ready
with a URL, shaped like KServe's status (pkg/apis/serving/v1beta1/inference_service_status.go, see
tests/backends/kube/test_inference_services.py). The requests never go to that URL: the lab's
predictor is the local process, and the reports say so.

Reports go to $COCKPIT_PLAN_ARTIFACTS/<plan>/ like the other lab plans (the runs with the fake
apiserver come last, so theirs are the ones kept).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from cockpit.lab import kserve_lab
from cockpit.procs import pid_alive
from tests.cockpit.plans.test_lab_plans import _seed_rows, run_lab_plan
from tests.fakes.kube_apiserver import INFERENCESERVICE, FakeApiServer

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]


class KubeLab:
    """The fake apiserver on its own event loop in a thread (the plan runs in a subprocess), with
    the InferenceService CRD and a stand-in for the KServe controller's status report."""

    def __init__(self) -> None:
        self.fake = FakeApiServer(token="lab-t0ken")
        self.fake.install_crd(INFERENCESERVICE)
        self.created: list[dict[str, Any]] = []  # each InferenceService as the cockpit sent it
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-apiserver", daemon=True)

    def __enter__(self) -> "KubeLab":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)
        self._controller = asyncio.run_coroutine_threadsafe(self._report_ready(), self.loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.cancel()
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _report_ready(self) -> None:
        while True:
            for (namespace, name), obj in list(self.fake.store[INFERENCESERVICE.store_key].items()):
                if obj.get("status"):
                    continue
                self.created.append(obj)
                self.fake.patch_status(INFERENCESERVICE, name, {
                    "url": f"http://{name}.{namespace}.example.com",
                    "conditions": [{"type": "IngressReady", "status": "True"},
                                   {"type": "PredictorReady", "status": "True"},
                                   {"type": "Ready", "status": "True"}]}, namespace)
            await asyncio.sleep(0.2)

    def isvcs(self) -> list[str]:
        return [name for _, name in self.fake.store[INFERENCESERVICE.store_key]]


@pytest.fixture
def kube_lab(tmp_path) -> Iterator[tuple[KubeLab, Path]]:
    with KubeLab() as lab:
        yield lab, lab.fake.write_kubeconfig(tmp_path / "kubeconfig", context="lab")


@pytest.fixture(scope="module")
def kserve_python() -> Path:
    python = kserve_lab.default_python()
    reason = kserve_lab.why_not(python)
    if reason:
        pytest.skip(f"the KServe model server cannot run here: {reason}")
    return python


def _served_row(rows: list[str], text: str) -> str:
    return next(r for r in rows if text in r)


def _figures(plan: str, load: dict[str, Any]) -> None:
    print(f"{plan}: {load['ok']}/{load['requests']} answered, p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, "
          f"{load['req_per_s']} req/s")


def test_mlops_4_lab_profile_without_a_kubernetes_api(slurm_lab, tmp_path, kserve_python):
    """What `cockpit lab up` alone gives (no Kubernetes API): the model is still served by the local
    KServe ModelServer and checked; the InferenceService steps read "not checked: cannot run here"."""
    # a model version for it: mlops-5.1's lab run without Kubernetes either
    first, _, _ = run_lab_plan("mlops-5.1", slurm_lab, tmp_path, env={"KUBECONFIG": None})
    assert first.steps["deploy"]["status"] == "skipped" and first.steps["serve"]["status"] == "passed"
    state, report, _ = run_lab_plan("mlops-4", slurm_lab, tmp_path / "serve", store=tmp_path,
                                    env={"KUBECONFIG": None})
    assert state.verdict == "passed"
    for step in ("deploy", "ready", "kube_api"):
        assert state.steps[step]["status"] == "skipped", (step, state.steps[step])
    assert "cannot run here" in state.steps["deploy"]["reason"] and "kubernetes" in state.steps["deploy"]["reason"]
    assert state.steps["load"]["outputs"]["errors"] == 0
    _figures("mlops-4 (no Kubernetes API)", state.steps["load"]["outputs"])
    rows = _seed_rows((report / "summary.md").read_text())
    assert "✅ passed" in _served_row(rows, "p95")


def test_mlops_5_1_then_mlops_4_lab_profiles(slurm_lab, tmp_path, kube_lab, kserve_python):
    """5.1 trains (digits, CPU) through SLURM, registers version 1 (alias candidate), serves it with
    the KServe ModelServer and checks p95; then mlops-4 serves `candidate` from the same store and
    checks p95 and that every request was answered. Both create and delete their InferenceService
    on the (fake) apiserver, and stop their model server."""
    from mlflow.tracking import MlflowClient

    lab, kubeconfig = kube_lab
    state, report, _ = run_lab_plan("mlops-5.1", slurm_lab, tmp_path, env={"KUBECONFIG": str(kubeconfig)})
    assert state.verdict == "passed"
    serve = state.steps["serve"]["outputs"]
    infer = state.steps["infer"]["outputs"]
    _figures("mlops-5.1", infer)
    assert serve["predictor"] == "local KServe ModelServer process (not a pod)" and serve["version"] == "1"
    assert infer["url"] == f"{serve['url']}/v2/models/mnist-e2e/infer" and infer["errors"] == 0
    assert infer["ok"] == 200 and 0 < infer["p50_ms"] <= infer["p95_ms"] < 500
    # The version's artifacts were what it served, the ones the training job logged.
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    version = client.get_model_version("mnist-classifier", "1")
    assert version.aliases == ["candidate"]
    assert Path(serve["model_dir"]) == Path(client.get_model_version_download_uri("mnist-classifier", "1"))
    assert (Path(serve["model_dir"]) / "data" / "model.pt2").is_file()
    assert "serve_kserve: kserve 0.21.0 serving mnist-e2e" in Path(serve["log"]).read_text()
    # the InferenceService: created with the lab's file:// storageUri, reported ready, deleted after
    (isvc,) = lab.created
    model_spec = isvc["spec"]["predictor"]["model"]
    assert model_spec["storageUri"] == Path(serve["model_dir"]).resolve().as_uri()
    assert model_spec["protocolVersion"] == "v2" and isvc["metadata"]["name"] == "mnist-e2e"
    assert state.steps["ready"]["status"] == "passed" and state.steps["undeploy"]["status"] == "passed"
    assert lab.isvcs() == []
    assert state.steps["stop_serve"]["outputs"]["stopped"] is True and not pid_alive(serve["pid"])
    summary = (report / "summary.md").read_text()
    assert "not a pod" in summary
    rows = _seed_rows(summary)
    assert len(rows) == 2 and all("✅ passed" in r for r in rows), rows
    assert f"{infer['p95_ms']}"[:3] in _served_row(rows, "p95"), rows

    state4, report4, _ = run_lab_plan("mlops-4", slurm_lab, tmp_path / "serve", store=tmp_path,
                                      env={"KUBECONFIG": str(kubeconfig)})
    assert state4.verdict == "passed"
    serve4, load4 = state4.steps["serve"]["outputs"], state4.steps["load"]["outputs"]
    _figures("mlops-4", load4)
    assert serve4["version"] == "1" and serve4["model_dir"] == serve["model_dir"]
    assert load4["ok"] == 500 and load4["errors"] == 0 and load4["p95_ms"] < 500 and load4["req_per_s"] > 0
    assert [i["metadata"]["name"] for i in lab.created] == ["mnist-e2e", "mnist"] and lab.isvcs() == []
    assert not pid_alive(serve4["pid"])
    rows4 = _seed_rows((report4 / "summary.md").read_text())
    assert len(rows4) == 3, rows4
    assert "✅ passed" in _served_row(rows4, "every inference request answered")
    assert "✅ passed" in _served_row(rows4, "p95")
    gpu_row = _served_row(rows4, "MLOPS-4.2: throughput")
    assert "⏭ not checked" in gpu_row, gpu_row
