"""`cockpit snapshot --sources mlflow`: the JSON contract, and no MLflow INFO chatter on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def snapshot(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_extra}
    return subprocess.run([sys.executable, "-m", "cockpit", "snapshot", "--sources", "mlflow"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def test_embedded_sqlite_default_is_quiet(isolated_xdg) -> None:
    done = snapshot({})
    assert done.returncode == 0, done.stderr
    assert "Creating initial MLflow database tables" not in done.stderr and "INFO" not in done.stderr
    doc = json.loads(done.stdout)["mlflow"]
    assert doc["status"] == "ok" and doc["items"] == [] and doc["registered_models"] == []
    assert doc["tracking_uri"].startswith("sqlite:///") and doc["tracking_uri"].endswith("mlflow.db")
    assert str(isolated_xdg) in doc["tracking_uri"]  # under the XDG data dir


def test_json_contract_against_the_server(mlflow_server, logged) -> None:
    done = snapshot({"MLFLOW_TRACKING_URI": mlflow_server.uri})
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)["mlflow"]
    assert doc["status"] == "ok", doc["error"]
    run = next(r for r in doc["items"] if r["run_id"] == logged["train_a"])
    assert set(run) == {"run_id", "experiment", "experiment_id", "name", "status", "start_time", "end_time",
                        "duration_s", "user", "metrics", "params", "tags"}
    assert run["tags"] == {"slurm_job_id": "42", "plan": "validate", "plan_step": "train"}
    assert {"experiments", "registered_models", "registry_error", "missing_experiments", "metric_columns",
            "runs_truncated", "tracking_uri"} <= set(doc)
    assert doc["runs_truncated"] is True  # 1,234 bulk runs, max_runs 200 by default
    assert len(doc["items"]) == 200
