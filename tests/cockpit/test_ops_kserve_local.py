"""kserve.local.start / kserve.local.stop through the audited action layer, on a real MLflow store:
what they refuse, before anything starts. (The server itself, started and stopped for real:
tests/workloads/test_serve_kserve.py; in a plan: tests/cockpit/plans/test_lab_serving_plans.py.)"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from cockpit.actions import ActionRefused, NeedsConfirmation
from cockpit.config import parse_config
from cockpit.runtime import build_runtime


@pytest.fixture
async def runtime(tmp_path):
    text = f"cockpit:\n  mlflow:\n    tracking_uri: sqlite:///{tmp_path}/mlflow.db\n"
    rt = build_runtime(parse_config(text, "test.yaml", env={}), sources=("mlflow",),
                       audit_path=tmp_path / "audit.jsonl")
    yield rt
    await rt.close()


async def _register(runtime, source: str) -> None:
    client = runtime.adapter("mlflow").client()

    def register():
        client.create_registered_model("digits")
        version = client.create_model_version("digits", source=source)
        client.set_registered_model_alias("digits", "candidate", version.version)

    await asyncio.to_thread(register)


def _params(tmp_path, **kw):
    return {"model": "digits", "version": "candidate", "name": "digits", "log_dir": str(tmp_path / "logs"), **kw}


async def test_start_needs_confirmation_and_refuses_artifacts_not_on_this_host(runtime, tmp_path):
    await _register(runtime, "s3://mlflow/1/abc/artifacts/model")
    with pytest.raises(NeedsConfirmation, match="Start the KServe ModelServer on this host serving MLflow model "
                                                "digits version candidate as digits"):
        await runtime.invoke("kserve.local.start", _params(tmp_path), confirmed=False)
    with pytest.raises(ActionRefused, match=r"version 1: its artifacts are at s3://mlflow/1/abc/artifacts/model, "
                                            "not on this host"):
        await runtime.invoke("kserve.local.start", _params(tmp_path))
    ends = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert any(e["action"] == "kserve.local.start" for e in ends)


async def test_start_refuses_a_missing_interpreter_or_a_directory_without_a_model(runtime, tmp_path):
    await _register(runtime, str(tmp_path / "artifacts"))
    with pytest.raises(ActionRefused, match="no KServe interpreter at /nonexistent/python.*SETUP_KSERVE=1"):
        await runtime.invoke("kserve.local.start", _params(tmp_path, python="/nonexistent/python"))
    with pytest.raises(ActionRefused, match="not an MLflow model directory"):
        await runtime.invoke("kserve.local.start", _params(tmp_path, python=sys.executable))
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").iterdir())


async def test_stop_signals_only_a_model_server(runtime):
    other = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(ActionRefused, match=f"pid {other.pid} is not a workloads.serve_kserve process"):
            await runtime.invoke("kserve.local.stop", {"pid": other.pid})
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
    gone = await runtime.invoke("kserve.local.stop", {"pid": other.pid})
    assert gone.ok and gone.result == {"pid": other.pid, "stopped": False, "changed": False}
