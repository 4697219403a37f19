"""One real `mlflow server` (SQLite store) per test session, holding:

- experiment `bulk`: 1,234 finished/failed runs seeded straight into the store (paging past 1,000,
  filters; 1,234 so that no page size used in the tests divides it);
- experiment `cockpit-tests`: runs logged through the real client over REST, with metric
  histories, params, link tags and a model artifact (registration, aliases, deletion).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from backends.mlflow import lab

BULK_RUNS = 1234


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.MlflowServer]:
    directory = tmp_path_factory.mktemp("mlflow-server")
    lab.seed_runs(f"sqlite:///{directory / 'mlflow.db'}", "bulk", BULK_RUNS,
                  artifact_root=str(directory / "artifacts"))
    server = lab.start_server(directory)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def logged(mlflow_server: lab.MlflowServer) -> dict[str, Any]:
    """Runs logged the way workloads log them (MlflowClient over REST)."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    exp = client.create_experiment("cockpit-tests")
    ids: dict[str, Any] = {"experiment_id": exp}

    def run(name: str, tags: dict[str, str], metrics: dict[str, list[float]], status: str | None = "FINISHED",
            model: bool = False) -> str:
        r = client.create_run(exp, run_name=name, tags=tags)
        rid = r.info.run_id
        batch = [Metric(key, value, 1_700_000_000_000 + step, step)
                 for key, values in metrics.items() for step, value in enumerate(values)]
        client.log_batch(rid, metrics=batch, params=[Param("lr", "0.001"), Param("epochs", str(len(batch)))])
        if model:
            with tempfile.TemporaryDirectory() as d:
                Path(d, "MLmodel").write_text("flavors: {}\n")
                Path(d, "weights.bin").write_bytes(b"\0" * 64)
                client.log_artifacts(rid, d, artifact_path="model")
        if status:
            client.set_terminated(rid, status)
        return rid

    ids["train_a"] = run("train-a", {"slurm_job_id": "42", "plan": "validate", "plan_step": "train"},
                         {"loss": [1.0 / (s + 1) for s in range(20)], "accuracy": [s / 20 for s in range(20)]},
                         model=True)
    ids["train_b"] = run("train-b", {"k8s_pod": "trainer-0", "k8s_namespace": "mlops"},
                         {"loss": [2.0 / (s + 1) for s in range(20)], "accuracy": [s / 25 for s in range(20)]})
    ids["no_acc"] = run("no-accuracy", {}, {"loss": [0.5, 0.4]})
    ids["running"] = run("still-running", {"slurm_job_id": "43"}, {"loss": [0.9]}, status=None)
    ids["doomed"] = run("to-delete", {}, {"loss": [1.0]})
    return ids


@pytest.fixture
def settings_for(mlflow_server: lab.MlflowServer):
    from cockpit.config import MlflowSettings

    def make(**kw: Any) -> MlflowSettings:
        return MlflowSettings(tracking_uri=kw.pop("tracking_uri", mlflow_server.uri), **kw)

    return make


@pytest.fixture(autouse=True)
def _fast_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    # The adapter sets these defaults itself; pin them so a test's order never matters.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"))


@pytest.fixture
def mlflow_runtime(mlflow_server: lab.MlflowServer, logged: dict[str, Any], tmp_path: Path):
    """A cockpit runtime with only the mlflow source, pointed at the test server."""
    from cockpit.config import parse_config
    from cockpit.runtime import build_runtime

    text = f"cockpit:\n  mlflow:\n    tracking_uri: {mlflow_server.uri}\n    experiments: [cockpit-tests]\n"
    loaded = parse_config(text, "test.yaml", env={})
    return build_runtime(loaded, sources=("mlflow",), audit_path=tmp_path / "audit.jsonl")


def audit_records(runtime: Any) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in runtime.audit.path.read_text().splitlines()]
