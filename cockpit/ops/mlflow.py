"""MLflow actions: register a model version from a run, set or remove an alias, delete a run.

Every action runs the blocking MlflowClient in a worker thread through the mlflow adapter.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, Field

from cockpit.actions import ActionContext, ActionRegistry, Danger

_RUN_ID = r"^[0-9a-f]{32}$"
_NAME = r"^[^\s/][^/]*$"
_ALIAS = r"^[A-Za-z_][\w-]*$"  # MLflow refuses aliases like "v1" (reserved) and "latest"


class RegisterParams(BaseModel):
    run_id: str = Field(pattern=_RUN_ID, description="MLflow run id (32 hex digits)")
    model_name: str = Field(min_length=1, max_length=256, pattern=_NAME, description="registered model name")
    artifact_path: str = Field(default="model", min_length=1, description="the model's artifact folder in the run")


class AliasParams(BaseModel):
    model_name: str = Field(min_length=1, pattern=_NAME)
    alias: str = Field(min_length=1, max_length=255, pattern=_ALIAS, description="e.g. champion, production")
    version: str = Field(pattern=r"^[1-9]\d*$", description="model version number")


class PromoteParams(AliasParams):
    metric: str = Field(min_length=1, description="metric of the versions' runs that decides, e.g. final_test_accuracy")
    direction: Literal["max", "min"] = Field(default="max", description="max: higher is better; min: lower is better")
    min_delta: float = Field(default=0.0, ge=0.0, description="the new value must beat the current one by more than this")


class AliasRef(BaseModel):
    model_name: str = Field(min_length=1, pattern=_NAME)
    alias: str = Field(min_length=1, max_length=255, pattern=_ALIAS)


class RunRef(BaseModel):
    run_id: str = Field(pattern=_RUN_ID, description="MLflow run id (32 hex digits)")


def _source(ctx: ActionContext) -> Any:
    source = ctx.adapter("mlflow")
    if not hasattr(source, "register_version_sync"):
        from cockpit.actions import ActionError

        raise ActionError("MLflow is not configured: set cockpit.mlflow.tracking_uri or MLFLOW_TRACKING_URI")
    return source


async def register_model(ctx: ActionContext, p: RegisterParams) -> dict[str, Any]:
    """Register a model version from a run's model artifact"""
    ctx.progress(f"registering {p.artifact_path} of run {p.run_id[:8]} as {p.model_name}")
    mv = await asyncio.to_thread(_source(ctx).register_version_sync, p.run_id, p.artifact_path, p.model_name)
    return {"model": p.model_name, "version": mv.version, "source": mv.source, "status": mv.status}


async def set_alias(ctx: ActionContext, p: AliasParams) -> dict[str, Any]:
    """Point a model alias at a version"""
    await asyncio.to_thread(_source(ctx).set_alias_sync, p.model_name, p.alias, p.version)
    return {"model": p.model_name, "alias": p.alias, "version": p.version}


def beats(new: float, current: float, direction: str, min_delta: float = 0.0) -> bool:
    """Whether `new` is better than `current` by more than min_delta (a tie never promotes)."""
    return new - current > min_delta if direction == "max" else current - new > min_delta


async def promote_alias(ctx: ActionContext, p: PromoteParams) -> dict[str, Any]:
    """Point an alias at a version only when its run's metric beats the aliased version's"""
    from cockpit.actions import ActionError

    source = _source(ctx)
    _, new_value = await asyncio.to_thread(source.version_metric_sync, p.model_name, p.version, p.metric)
    if new_value is None:
        raise ActionError(f"model {p.model_name} version {p.version}: its run logged no metric {p.metric!r}")
    current = await asyncio.to_thread(source.alias_version_sync, p.model_name, p.alias)
    out: dict[str, Any] = {"model": p.model_name, "alias": p.alias, "version": p.version, "metric": p.metric,
                           "direction": p.direction, "new_value": new_value, "previous_version": current,
                           "previous_value": None}
    if current == p.version:
        return {**out, "promoted": False, "changed": False, "previous_value": new_value, "alias_version": current,
                "reason": f"alias {p.alias} already points at version {p.version}"}
    if current is not None:
        _, old_value = await asyncio.to_thread(source.version_metric_sync, p.model_name, current, p.metric)
        out["previous_value"] = old_value
        if old_value is not None and not beats(new_value, old_value, p.direction, p.min_delta):
            return {**out, "promoted": False, "changed": False, "alias_version": current,
                    "reason": (f"version {p.version} ({p.metric}={new_value:.6g}) does not beat version {current} "
                               f"({old_value:.6g}, {p.direction}, min_delta {p.min_delta:g}): alias {p.alias} stays")}
    await asyncio.to_thread(source.set_alias_sync, p.model_name, p.alias, p.version)
    why = ("no version held the alias" if current is None else
           f"version {current} logged no {p.metric!r}" if out["previous_value"] is None else
           f"{p.metric} {new_value:.6g} beats {out['previous_value']:.6g} of version {current}")
    return {**out, "promoted": True, "changed": True, "alias_version": p.version,
            "reason": f"alias {p.alias} -> version {p.version}: {why}"}


async def delete_alias(ctx: ActionContext, p: AliasRef) -> dict[str, Any]:
    """Remove a model alias"""
    was = await asyncio.to_thread(_source(ctx).delete_alias_sync, p.model_name, p.alias)
    return {"model": p.model_name, "alias": p.alias, "was_version": was}


async def delete_run(ctx: ActionContext, p: RunRef) -> dict[str, Any]:
    """Delete an MLflow run"""
    return await asyncio.to_thread(_source(ctx).delete_run_sync, p.run_id)


def register(registry: ActionRegistry) -> None:
    registry.action(
        "mlflow.register_model", RegisterParams, Danger.CHANGE, title="Register model version",
        confirm=lambda p: (f"Register the artifact '{p.artifact_path}' of run {p.run_id} as a new version of "
                           f"model '{p.model_name}' (the model is created if it does not exist)."),
        refresh=("mlflow",))(register_model)
    registry.action(
        "mlflow.set_alias", AliasParams, Danger.CHANGE, title="Set model alias",
        confirm=lambda p: (f"Point alias '{p.alias}' of model '{p.model_name}' at version {p.version}; "
                           f"whatever loads models:/{p.model_name}@{p.alias} gets that version from now on."),
        refresh=("mlflow",))(set_alias)
    registry.action(
        "mlflow.promote_alias", PromoteParams, Danger.CHANGE, title="Promote model alias if better",
        confirm=lambda p: (f"Point alias '{p.alias}' of model '{p.model_name}' at version {p.version} only if its "
                           f"run's {p.metric} beats the currently aliased version's ({p.direction}); "
                           f"otherwise nothing changes."),
        refresh=("mlflow",))(promote_alias)
    registry.action(
        "mlflow.delete_alias", AliasRef, Danger.CHANGE, title="Remove model alias",
        confirm=lambda p: (f"Remove alias '{p.alias}' from model '{p.model_name}'; "
                           f"loading models:/{p.model_name}@{p.alias} fails afterwards. The versions stay."),
        refresh=("mlflow",))(delete_alias)
    registry.action(
        "mlflow.delete_run", RunRef, Danger.DESTROY, title="Delete MLflow run",
        confirm=lambda p: (f"Delete run {p.run_id}: it leaves every run list (MLflow marks it deleted; "
                           f"`mlflow gc` purges it and its artifacts for good)."),
        refresh=("mlflow",))(delete_run)
