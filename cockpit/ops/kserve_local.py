"""Lab serving actions: a registered MLflow model version served by the real KServe ModelServer as a
local process (cockpit/lab/kserve_lab.py), for the lab profiles of mlops-4 and mlops-5.1.

On a cluster, kube.isvc.deploy hands the version to KServe, whose controller starts the predictor
pod. The lab has no cluster to run pods, so kserve.local.start runs the same model server on this
host, on the version's local artifact directory, and kserve.local.stop ends it. Its outputs say
that the predictor is a local process, not a pod.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from cockpit.actions import ActionContext, ActionRefused, ActionRegistry, Danger

PREDICTOR = "local KServe ModelServer process (not a pod)"


class LocalServeParams(BaseModel):
    model: str = Field(min_length=1, description="registered MLflow model name")
    version: str = Field(min_length=1, description="model version number, or an alias such as 'candidate'")
    name: str = Field(min_length=1, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                      description="the model's name in the URLs (/v2/models/NAME/infer), as the InferenceService's")
    log_dir: str = Field(min_length=1, description="directory for the server's log (a plan's report directory)")
    python: str | None = Field(default=None, description="interpreter with kserve and torch; default "
                                                         "$COCKPIT_KSERVE_PYTHON, else .venv-kserve/bin/python")
    threads: int = Field(default=1, ge=1, le=64, description="torch threads of the server")
    timeout_s: float = Field(default=120.0, gt=0, le=1800, description="how long to wait for it to be ready")


class LocalStopParams(BaseModel):
    pid: int = Field(gt=1, description="the server's pid (kserve.local.start's output)")


def _mlflow(ctx: ActionContext) -> Any:
    try:
        source = ctx.adapter("mlflow")
    except KeyError:
        source = None
    if source is None or not hasattr(source, "client"):
        raise ActionRefused("the mlflow source is not configured: set cockpit.mlflow.tracking_uri")
    return source


async def start_local(ctx: ActionContext, p: LocalServeParams) -> dict[str, Any]:
    """Serve a registered model version with the KServe ModelServer on this host (the lab's predictor)"""
    from cockpit.lab import kserve_lab
    from cockpit.model_storage import local_artifact_dir
    from cockpit.ops.kube import model_version_uri

    version, artifact_uri = await asyncio.to_thread(model_version_uri, _mlflow(ctx), p.model, p.version)
    model_dir = local_artifact_dir(artifact_uri)
    if model_dir is None:
        raise ActionRefused(f"model {p.model} version {version}: its artifacts are at {artifact_uri}, not on this "
                            "host; the local model server reads a local directory (deploy to a cluster instead)")
    python = Path(p.python) if p.python else kserve_lab.default_python()
    ctx.progress(f"starting the KServe ModelServer ({python}) on {model_dir}")
    try:
        server = await asyncio.to_thread(kserve_lab.start, python, model_dir, p.name, Path(p.log_dir),
                                         threads=p.threads, timeout=p.timeout_s)
    except kserve_lab.KServeLabError as exc:
        raise ActionRefused(f"model {p.model} version {version}: {exc}") from None
    return {"url": server.url, "pid": server.pid, "port": server.port, "log": str(server.log),
            "model": p.model, "version": version, "model_dir": str(model_dir), "python": str(python),
            "predictor": PREDICTOR}


async def stop_local(ctx: ActionContext, p: LocalStopParams) -> dict[str, Any]:
    """Stop a model server kserve.local.start started"""
    from cockpit.lab import kserve_lab

    try:
        stopped = await asyncio.to_thread(kserve_lab.stop, p.pid)
    except kserve_lab.KServeLabError as exc:
        raise ActionRefused(str(exc)) from None
    return {"pid": p.pid, "stopped": stopped, "changed": stopped}


def register(registry: ActionRegistry) -> None:
    registry.action("kserve.local.start", LocalServeParams, Danger.CHANGE, title="Serve a model locally (lab)",
                    confirm=lambda p: f"Start the KServe ModelServer on this host serving MLflow model {p.model} "
                                      f"version {p.version} as {p.name} (v1 and v2 on a free 127.0.0.1 port), "
                                      f"log in {p.log_dir}.")(start_local)
    registry.action("kserve.local.stop", LocalStopParams, Danger.CHANGE, title="Stop a local model server (lab)",
                    confirm=lambda p: f"Stop the local KServe ModelServer process {p.pid} (SIGTERM, then "
                                      "SIGKILL); its endpoint stops answering.")(stop_local)
