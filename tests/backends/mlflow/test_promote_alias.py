"""mlflow.promote_alias against the real MLflow server: the alias moves only to a better version."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from cockpit.ops.mlflow import beats


def _run_with_model(server_uri: str, experiment_id: str, score: float | None) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(server_uri)
    run = client.create_run(experiment_id, run_name=f"promote-{score}")
    rid = run.info.run_id
    if score is not None:
        client.log_metric(rid, "score", score)
    with tempfile.TemporaryDirectory() as d:
        Path(d, "MLmodel").write_text("flavors: {}\n")
        client.log_artifacts(rid, d, artifact_path="model")
    client.set_terminated(rid, "FINISHED")
    return rid


async def _register(rt, run_id: str) -> str:
    result = await rt.invoke("mlflow.register_model", {"run_id": run_id, "model_name": "promote-model"})
    assert result.ok, result.error
    return result.result["version"]


async def _promote(rt, version: str, **extra) -> dict:
    result = await rt.invoke("mlflow.promote_alias", {"model_name": "promote-model", "alias": "champion",
                                                      "version": version, "metric": "score", **extra})
    assert result.ok, result.error
    return result.result


async def test_alias_moves_only_to_a_better_version(mlflow_runtime, mlflow_server, logged) -> None:
    from mlflow.tracking import MlflowClient

    rt = mlflow_runtime
    exp = logged["experiment_id"]
    v1 = await _register(rt, _run_with_model(mlflow_server.uri, exp, 0.80))
    first = await _promote(rt, v1)
    assert first["promoted"] is True and first["previous_version"] is None and first["alias_version"] == v1

    v2 = await _register(rt, _run_with_model(mlflow_server.uri, exp, 0.70))  # worse: the alias stays
    worse = await _promote(rt, v2)
    assert worse["promoted"] is False and worse["changed"] is False and worse["alias_version"] == v1
    assert worse["previous_value"] == pytest.approx(0.80) and worse["new_value"] == pytest.approx(0.70)
    assert "stays" in worse["reason"]

    v3 = await _register(rt, _run_with_model(mlflow_server.uri, exp, 0.80))  # a tie never promotes
    assert (await _promote(rt, v3))["promoted"] is False

    v4 = await _register(rt, _run_with_model(mlflow_server.uri, exp, 0.85))
    assert (await _promote(rt, v4, min_delta=0.1))["promoted"] is False  # not better by enough
    better = await _promote(rt, v4)
    assert better["promoted"] is True and better["previous_version"] == v1
    assert str(MlflowClient(mlflow_server.uri).get_model_version_by_alias("promote-model", "champion").version) == v4

    again = await _promote(rt, v4)  # re-running the pipeline step changes nothing
    assert again["promoted"] is False and "already points" in again["reason"]

    # lower is better: v2 (0.70) beats v4 (0.85)
    assert (await _promote(rt, v2, direction="min"))["promoted"] is True


async def test_a_version_whose_run_lacks_the_metric_is_refused(mlflow_runtime, mlflow_server, logged) -> None:
    version = await _register(mlflow_runtime, _run_with_model(mlflow_server.uri, logged["experiment_id"], None))
    result = await mlflow_runtime.invoke("mlflow.promote_alias", {"model_name": "promote-model", "alias": "other",
                                                                  "version": version, "metric": "score"})
    assert not result.ok and "logged no metric 'score'" in result.error


def test_beats_directions_and_margin():
    assert beats(0.9, 0.8, "max") and not beats(0.8, 0.8, "max") and not beats(0.7, 0.8, "max")
    assert beats(0.1, 0.2, "min") and not beats(0.2, 0.2, "min")
    assert not beats(0.85, 0.8, "max", 0.1) and beats(0.95, 0.8, "max", 0.1)
