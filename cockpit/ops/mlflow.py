"""MLflow actions: register a model version from a run, set or remove an alias, delete a run.

Every action runs the blocking MlflowClient in a worker thread through the mlflow adapter.
"""

from __future__ import annotations

import asyncio
from typing import Any

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
        "mlflow.delete_alias", AliasRef, Danger.CHANGE, title="Remove model alias",
        confirm=lambda p: (f"Remove alias '{p.alias}' from model '{p.model_name}'; "
                           f"loading models:/{p.model_name}@{p.alias} fails afterwards. The versions stay."),
        refresh=("mlflow",))(delete_alias)
    registry.action(
        "mlflow.delete_run", RunRef, Danger.DESTROY, title="Delete MLflow run",
        confirm=lambda p: (f"Delete run {p.run_id}: it leaves every run list (MLflow marks it deleted; "
                           f"`mlflow gc` purges it and its artifacts for good)."),
        refresh=("mlflow",))(delete_run)
