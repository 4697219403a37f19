"""MLflow actions against the real server: registration, aliases, deletion; confirmed and audited."""

from __future__ import annotations

import pytest

from cockpit.actions import ActionRefused, Actor, InvalidParams, NeedsConfirmation

from .conftest import audit_records


async def _models(runtime) -> dict:
    snap = await runtime.hub["mlflow"].fetch_once()
    assert snap.status.value == "ok", snap.error
    return {m.name: m for m in snap.sections["registered_models"]}


async def test_register_versions_then_alias_and_remove_it(mlflow_runtime, logged) -> None:
    rt = mlflow_runtime
    run_id = logged["train_a"]
    first = await rt.invoke("mlflow.register_model", {"run_id": run_id, "model_name": "cockpit-model"})
    assert first.ok, first.error
    assert first.result["version"] == "1" and first.result["source"] == f"runs:/{run_id}/model"
    second = await rt.invoke("mlflow.register_model", {"run_id": run_id, "model_name": "cockpit-model"})
    assert second.result["version"] == "2"

    alias = await rt.invoke("mlflow.set_alias", {"model_name": "cockpit-model", "alias": "champion", "version": "1"})
    assert alias.ok, alias.error
    model = (await _models(rt))["cockpit-model"]
    assert model.aliases == {"champion": "1"}
    assert [v.version for v in model.latest_versions] == ["2"] and model.latest_versions[0].run_id == run_id
    versions = await rt.adapter("mlflow").model_versions("cockpit-model")
    assert [(v.version, v.aliases) for v in versions] == [("2", ()), ("1", ("champion",))]

    removed = await rt.invoke("mlflow.delete_alias", {"model_name": "cockpit-model", "alias": "champion"})
    assert removed.ok and removed.result["was_version"] == "1"
    assert (await _models(rt))["cockpit-model"].aliases == {}

    records = audit_records(rt)
    ends = [r for r in records if r["event"] == "action.end"]
    assert [r["action"] for r in ends] == ["mlflow.register_model", "mlflow.register_model", "mlflow.set_alias",
                                           "mlflow.delete_alias"]
    assert all(r["ok"] for r in ends)
    starts = [r for r in records if r["event"] == "action.start"]
    assert "champion" in starts[2]["confirmation"] and "version 1" in starts[2]["confirmation"]


async def test_register_without_model_artifact_fails_cleanly_and_creates_nothing(mlflow_runtime, logged) -> None:
    result = await mlflow_runtime.invoke("mlflow.register_model",
                                         {"run_id": logged["no_acc"], "model_name": "ghost-model"})
    assert not result.ok
    assert "has no model artifact at 'model'" in result.error
    assert "ghost-model" not in await _models(mlflow_runtime)  # nothing half-done


async def test_alias_on_a_missing_version_is_a_clear_failure(mlflow_runtime, logged) -> None:
    result = await mlflow_runtime.invoke("mlflow.set_alias", {"model_name": "no-such-model", "alias": "prod",
                                                              "version": "7"})
    assert not result.ok and "no-such-model" in result.error


async def test_delete_run_needs_confirmation_then_removes_it(mlflow_runtime, logged) -> None:
    rt = mlflow_runtime
    doomed = logged["doomed"]
    with pytest.raises(NeedsConfirmation, match=f"Delete run {doomed}"):
        await rt.dispatcher.invoke("mlflow.delete_run", {"run_id": doomed}, actor=Actor("tester", via="tui"))
    assert doomed in (await rt.hub["mlflow"].fetch_once()).items  # nothing happened
    result = await rt.invoke("mlflow.delete_run", {"run_id": doomed})
    assert result.ok and result.result["name"] == "to-delete"
    assert doomed not in (await rt.hub["mlflow"].fetch_once()).items
    assert [r["event"] for r in audit_records(rt)][-2:] == ["action.start", "action.end"]


async def test_bad_params_and_read_only_are_refused_before_touching_mlflow(mlflow_runtime, logged) -> None:
    with pytest.raises(InvalidParams, match="run_id"):
        await mlflow_runtime.invoke("mlflow.delete_run", {"run_id": "not-a-run"})
    with pytest.raises(InvalidParams, match="alias"):
        await mlflow_runtime.invoke("mlflow.set_alias", {"model_name": "m", "alias": "has space", "version": "1"})
    mlflow_runtime.dispatcher.read_only = True
    with pytest.raises(ActionRefused, match="read-only"):
        await mlflow_runtime.invoke("mlflow.delete_run", {"run_id": logged["train_b"]})
    assert logged["train_b"] in (await mlflow_runtime.hub["mlflow"].fetch_once()).items
