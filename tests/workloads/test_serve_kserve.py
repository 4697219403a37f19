"""workloads/serve_kserve.py: the real KServe ModelServer (kserve 0.21 in .venv-kserve) serving the
model train_classifier logged to MLflow (the session's `trained_classifier`), over v1 and v2, and
its helpers that read an MLflow model directory (run here, in the project's venv, without kserve).

The server tests start it through cockpit/lab/kserve_lab.py as the plans do; they are skipped, with
the reason, where .venv-kserve is missing (`SETUP_KSERVE=1 bash scripts/setup.sh` makes it;
scripts/test.sh does).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from cockpit.lab import kserve_lab
from cockpit.procs import pid_alive
from workloads.serve_kserve import ModelDirError, TorchArtifacts, check_shape, read_artifacts


@pytest.fixture(scope="module")
def model_dir(trained_classifier, tracking_uri) -> Path:
    """The artifact directory of the model train_classifier logged (what a registered version serves)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    return Path(mlflow.artifacts.download_artifacts(trained_classifier["doc"]["mlflow"]["model_uri"]))


def _mlmodel(model_dir: Path) -> dict:
    return yaml.safe_load((model_dir / "MLmodel").read_text())


def test_reads_the_pt2_archive_and_signature_mlflow_wrote(model_dir):
    art = read_artifacts(model_dir, _mlmodel(model_dir))
    assert art == TorchArtifacts(model_dir, model_dir / "data" / "model.pt2", art.pytorch_version, [-1, 1, 8, 8])
    import torch

    assert art.pytorch_version == torch.__version__


def test_a_model_without_the_pytorch_flavour_is_refused_naming_its_flavours(model_dir):
    doc = _mlmodel(model_dir)
    del doc["flavors"]["pytorch"]
    with pytest.raises(ModelDirError, match=r"no pytorch flavour \(flavours: python_function\)"):
        read_artifacts(model_dir, doc)


def test_a_pickled_model_is_refused(tmp_path, model_dir):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "model.pth").write_bytes(b"\x80\x04N.")
    with pytest.raises(ModelDirError, match="pickled model, which this server refuses"):
        read_artifacts(tmp_path, _mlmodel(model_dir))
    (tmp_path / "data" / "model.pth").unlink()
    with pytest.raises(ModelDirError, match=r"model.pt2: no such file"):
        read_artifacts(tmp_path, _mlmodel(model_dir))


@pytest.mark.parametrize("shape,ok", [([1, 1, 8, 8], True), ([7, 1, 8, 8], True), ([1, 8, 8], False),
                                      ([1, 1, 28, 28], False)])
def test_check_shape_against_the_signature(shape, ok):
    if ok:
        check_shape(shape, [-1, 1, 8, 8])
    else:
        with pytest.raises(ValueError, match=r"the model's signature takes \[-1, 1, 8, 8\]"):
            check_shape(shape, [-1, 1, 8, 8])


# -- the real server ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kserve_server(model_dir, tmp_path_factory):
    python = kserve_lab.default_python()
    reason = kserve_lab.why_not(python)
    if reason:
        pytest.skip(f"the KServe model server cannot run here: {reason}")
    server = kserve_lab.start(python, model_dir, "digits", tmp_path_factory.mktemp("kserve-log"))
    yield server
    kserve_lab.stop(server.pid)


def _digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images[:n].astype("float32") / 16.0)[:, None], bunch.target[:n]


def _expected_scores(model_dir: Path, x: np.ndarray) -> np.ndarray:
    import mlflow.pytorch
    import torch

    with torch.no_grad():
        return mlflow.pytorch.load_model(str(model_dir))(torch.from_numpy(x)).numpy()


def test_v1_and_v2_answer_with_the_models_own_scores(kserve_server, model_dir):
    x, labels = _digits(16)
    expected = _expected_scores(model_dir, x)
    v1 = httpx.post(f"{kserve_server.url}/v1/models/digits:predict", json={"instances": x.tolist()}, timeout=30)
    assert v1.status_code == 200, v1.text
    assert np.allclose(np.asarray(v1.json()["predictions"]), expected, atol=1e-4)
    v2 = httpx.post(f"{kserve_server.url}/v2/models/digits/infer", timeout=30, json={
        "inputs": [{"name": "input-0", "shape": list(x.shape), "datatype": "FP32", "data": x.reshape(-1).tolist()}]})
    assert v2.status_code == 200, v2.text
    out = v2.json()["outputs"][0]
    assert out["shape"] == [16, 10] and out["datatype"] == "FP32" and v2.json()["model_name"] == "digits"
    scores = np.asarray(out["data"]).reshape(out["shape"])
    assert np.allclose(scores, expected, atol=1e-4)
    assert (scores.argmax(axis=1) == labels).mean() >= 0.75  # the trained model, not noise


def test_health_and_model_readiness_as_kserve_reports_them(kserve_server):
    assert httpx.get(f"{kserve_server.url}/v2/health/ready", timeout=10).json() == {"ready": True}
    assert httpx.get(f"{kserve_server.url}/v1/models/digits", timeout=10).json() == {"name": "digits", "ready": True}
    assert httpx.get(f"{kserve_server.url}/v2/models/digits/ready", timeout=10).status_code == 200
    assert httpx.get(f"{kserve_server.url}/v2/models/other/ready", timeout=10).status_code == 404


def test_an_input_the_signature_does_not_take_is_a_400_naming_both_shapes(kserve_server):
    r = httpx.post(f"{kserve_server.url}/v2/models/digits/infer", timeout=30, json={
        "inputs": [{"name": "input-0", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [0.5] * 784}]})
    assert r.status_code == 400
    assert "input of shape [1, 1, 28, 28]; the model's signature takes [-1, 1, 8, 8]" in r.json()["error"]


def test_serve_check_scores_the_real_server(kserve_server, run_wl, tmp_path):
    """The project's own client (workloads/serve_check.py) against it, v2 with digits batches."""
    out = tmp_path / "out"
    proc = run_wl("serve_check", ["--url", kserve_server.url, "--model", "digits", "--protocol", "v2",
                                  "--requests", "30", "--warmup", "2", "--concurrency", "2", "--batch", "8",
                                  "--min-accuracy", "0.75", "--no-mlflow", "--output-dir", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["requests_ok"] == 30 and m["errors"] == 0 and m["accuracy"] >= 0.75


def test_stop_ends_the_server_and_refuses_other_pids(model_dir, tmp_path):
    python = kserve_lab.default_python()
    if kserve_lab.why_not(python):
        pytest.skip("no .venv-kserve here")
    with pytest.raises(kserve_lab.KServeLabError, match=f"pid {os.getpid()} is not a workloads.serve_kserve"):
        kserve_lab.stop(os.getpid())
    server = kserve_lab.start(python, model_dir, "digits", tmp_path)
    assert kserve_lab.is_model_server(server.pid)
    assert kserve_lab.stop(server.pid) is True and not pid_alive(server.pid)
    assert kserve_lab.stop(server.pid) is False  # gone already: nothing to do


def test_a_directory_that_is_no_model_fails_before_starting_anything(tmp_path):
    with pytest.raises(kserve_lab.KServeLabError, match="not an MLflow model directory"):
        kserve_lab.start(Path(__file__), tmp_path, "digits", tmp_path)
    with pytest.raises(kserve_lab.KServeLabError, match="no KServe interpreter at /nonexistent/python"):
        kserve_lab.start(Path("/nonexistent/python"), tmp_path, "digits", tmp_path)
