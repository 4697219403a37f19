"""Fixtures for the workload programs: run them as real subprocesses against a real MLflow store.

The tracking store is a SQLite file in a session tmp dir (the MLflow *server* is tested by the
mlflow backend's tests). OMP_NUM_THREADS=1 because CI runners are small and shared: oversubscribed
OpenMP threads made a 2-thread CPU run ~10x slower than a 1-thread one on the 2-core VM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tracking_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="session")
def tracking_uri(tracking_dir) -> str:
    return f"sqlite:///{tracking_dir}/mlflow.db"


def base_env(tracking_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLURM_", "COCKPIT_", "MLFLOW_", "KUBERNETES_", "POD_"))
           and k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MLFLOW_DISABLE_TELEMETRY="true",
               DO_NOT_TRACK="1", PYTHONWARNINGS="ignore")
    env.update(extra)
    return env


def run_module(module: str, args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 240,
               launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = (launcher or [sys.executable]) + ["-m", f"workloads.{module}", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc


@pytest.fixture(scope="session")
def run_wl(tracking_dir):
    """run_wl(module, args, env_extra=None, cwd=...) -> CompletedProcess (artifacts land in tracking_dir)."""

    def run(module: str, args: list[str], env_extra: dict[str, str] | None = None, **kw):
        return run_module(module, args, cwd=tracking_dir, env=base_env(tracking_dir, **(env_extra or {})), **kw)

    return run


@pytest.fixture(scope="session")
def mlflow_client(tracking_uri):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def read_metrics(path: Path) -> dict:
    return json.loads(path.read_text())


# Train once per session: the classifier's own test checks it, the serving test serves its model.
CLASSIFIER_TAG_ENV = {
    "SLURM_JOB_ID": "4242", "COCKPIT_PLAN": "mlops-validation", "COCKPIT_PLAN_STEP": "mnist-single-gpu",
}


@pytest.fixture(scope="session")
def trained_classifier(run_wl, tracking_uri, tracking_dir):
    out = tracking_dir / "classifier-out"
    proc = run_wl("train_classifier", [
        "--mlflow-uri", tracking_uri, "--output-dir", str(out), "--width", "16", "--batch-size", "64",
        "--lr", "5e-3", "--epochs", "8", "--run-name", "ci-digits",
    ], CLASSIFIER_TAG_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"proc": proc, "metrics_path": out / "metrics.json", "doc": read_metrics(out / "metrics.json")}


class KServeFake:
    """A tiny HTTP server speaking the KServe v1 and v2 (Open Inference Protocol) REST wire format.

    Not KServe itself (no cluster here): it implements the request/response shapes of
    /v1/models/<m>[:predict] and /v2/models/<m>/ready|infer, and serves a REAL MLflow model
    (loaded with mlflow.pyfunc), so the predictions the client scores are the trained model's.
    """

    def __init__(self, name: str, predict) -> None:
        self.name, self.predict, self.requests = name, predict, 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # keep test output quiet
                pass

            def reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == f"/v1/models/{fake.name}":
                    return self.reply(200, {"name": fake.name, "ready": True})
                if self.path in (f"/v2/models/{fake.name}/ready", "/v2/health/ready"):
                    return self.reply(200, {"name": fake.name, "ready": True})
                self.reply(404, {"error": f"model {self.path} not found"})

            def do_POST(self):
                import numpy as np

                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests += 1
                if self.path == f"/v1/models/{fake.name}:predict":
                    x = np.asarray(body["instances"], dtype=np.float32)
                    return self.reply(200, {"predictions": fake.predict(x).tolist()})
                if self.path == f"/v2/models/{fake.name}/infer":
                    inp = body["inputs"][0]
                    if inp.get("datatype") != "FP32":
                        return self.reply(400, {"error": f"unsupported datatype {inp.get('datatype')}"})
                    x = np.asarray(inp["data"], dtype=np.float32).reshape(inp["shape"])
                    y = fake.predict(x)
                    return self.reply(200, {"model_name": fake.name, "id": body.get("id", ""), "outputs": [
                        {"name": "output-0", "shape": list(y.shape), "datatype": "FP32",
                         "data": y.reshape(-1).tolist()}]})
                self.reply(404, {"error": f"{self.path} not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def served_classifier(trained_classifier, tracking_uri):
    import mlflow.pyfunc
    import numpy as np

    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(trained_classifier["doc"]["mlflow"]["model_uri"])
    lock = threading.Lock()

    def predict(x: np.ndarray) -> np.ndarray:
        with lock:
            return np.asarray(model.predict(x))

    with KServeFake("digits", predict) as server:
        yield server
