"""Kubernetes actions: pods, training jobs, inference services."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from cockpit.actions import ActionContext, ActionRefused, ActionRegistry, Danger
from cockpit.kube_inference import request_for, summarize
from cockpit.kube_manifests import (
    InferenceSpec,
    TrainingJobSpec,
    manifest_yaml,
    render_inference_service,
    render_training_job,
)
from cockpit.kube_quota import QuotaCheck, check_quota, workload_requests


def _source(ctx: ActionContext) -> Any:
    return ctx.adapter("kubernetes")


class PodRef(BaseModel):
    namespace: str = Field(default="default", min_length=1)
    name: str = Field(min_length=1, description="pod name")


class LogParams(PodRef):
    container: str | None = Field(default=None, description="container (required when the pod has several)")
    tail_lines: int | None = Field(default=200, ge=0)
    follow: bool = False
    max_seconds: float = Field(default=600.0, gt=0, description="stop following after this long")
    max_lines: int = Field(default=2000, ge=1, description="lines kept in the result")


JobKind = Literal["MPIJob", "PyTorchJob", "Job"]


class JobRef(BaseModel):
    kind: JobKind
    namespace: str = Field(default="default", min_length=1)
    name: str = Field(min_length=1)


class JobDelete(JobRef):
    # Always sent explicitly: without one, batch/v1 Jobs orphan their pods.
    propagation_policy: Literal["Foreground", "Background", "Orphan"] = "Foreground"


class JobCreate(TrainingJobSpec):
    ignore_quota: bool = Field(default=False, description="submit even when the quota check says it will not fit")


class DeployParams(BaseModel):
    model: str = Field(min_length=1, description="registered MLflow model name")
    version: str = Field(min_length=1, description="model version number, or an alias such as 'champion'")
    name: str | None = Field(default=None, description="InferenceService name; default: the model name")
    namespace: str = "default"
    model_format: str = "mlflow"
    protocol: Literal["v1", "v2"] = "v2"
    gpus: int = Field(default=0, ge=0, le=16)
    cpu: str = "1"
    memory: str = "2Gi"
    local_predictor: bool = Field(default=False, description="the lab: the predictor is a KServe ModelServer "
                                  "process on this host (kserve.local.start), so local artifacts are named as "
                                  "a file:// storageUri instead of refused")


class IsvcDelete(BaseModel):
    name: str = Field(min_length=1, description="InferenceService name")
    namespace: str = Field(default="default", min_length=1)
    # Always sent explicitly, as for jobs: the predictor's Deployment / Knative revisions are owned objects.
    propagation_policy: Literal["Foreground", "Background", "Orphan"] = "Foreground"


class CheckParams(BaseModel):
    name: str = Field(min_length=1, description="InferenceService name")
    namespace: str = "default"
    requests: int = Field(default=200, ge=1, le=100_000)
    concurrency: int = Field(default=8, ge=1, le=256)
    url: str | None = Field(default=None, description="endpoint to use instead of status.url (port-forward, ingress, "
                                                      "the lab's local predictor); with protocol and gpus also "
                                                      "given, the InferenceService is not read")
    model: str | None = Field(default=None, description="model name in the URL; default: the service name")
    protocol: Literal["v1", "v2"] | None = Field(default=None, description="default: the service's protocolVersion")
    payload: dict[str, Any] | None = None
    input_shape: list[int] | None = Field(default=None, min_length=1, max_length=8,
                                          description="send an FP32 input of this shape instead of a payload, "
                                                      "e.g. [1, 1, 28, 28] for the MNIST classifier")
    gpus: int | None = Field(default=None, ge=0, description="GPUs serving it; default: from the predictor")

    @field_validator("input_shape")
    @classmethod
    def _shape(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (any(d < 1 for d in v) or math.prod(v) > 1_000_000):
            raise ValueError("dimensions must be >= 1 and hold at most 1,000,000 values")
        return v


# -- pods -----------------------------------------------------------------------------------------
async def delete_pod(ctx: ActionContext, p: PodRef) -> dict[str, Any]:
    from backends.kube import operations as ops
    from backends.kube.resources import PODS

    await ops.delete(_source(ctx), PODS, p.namespace, p.name, "Background")
    return {"deleted": f"{p.namespace}/{p.name}"}


async def describe_pod(ctx: ActionContext, p: PodRef) -> dict[str, Any]:
    """Pod status, containers and events (kubectl describe)"""
    return await ctx.runtime.query.describe_pod(p.namespace, p.name)


async def pod_logs(ctx: ActionContext, p: LogParams) -> dict[str, Any]:
    """Pod logs; while following, every line is reported as progress"""
    lines: list[str] = []
    count = 0
    deadline = time.monotonic() + p.max_seconds

    async def read() -> None:
        nonlocal count
        async for line in ctx.runtime.query.pod_logs(p.namespace, p.name, p.container, p.tail_lines, p.follow):
            count += 1
            lines.append(line)
            if len(lines) > p.max_lines:
                del lines[0]
            if p.follow:
                ctx.progress(line)
            if time.monotonic() > deadline:
                return

    try:
        await asyncio.wait_for(read(), p.max_seconds)
    except asyncio.TimeoutError:
        pass
    return {"pod": f"{p.namespace}/{p.name}", "container": p.container, "lines": lines, "count": count}


# -- training jobs --------------------------------------------------------------------------------
async def _quota_and_queue(ctx: ActionContext, spec: TrainingJobSpec) -> tuple[QuotaCheck, str | None, dict[str, Any]]:
    from backends.kube import operations as ops

    source = _source(ctx)
    queues = await ops.local_queues(source, spec.namespace)
    if spec.queue and spec.queue not in queues:
        raise ActionRefused(f"LocalQueue {spec.queue!r} does not exist in namespace {spec.namespace} "
                            f"(queues: {', '.join(queues) or 'none'})")
    queue = spec.queue or (sorted(queues)[0] if queues else None)
    _, manifest = render_training_job(spec, queue=queue)
    check = check_quota(spec.namespace, await ops.quotas(source, spec.namespace), workload_requests(manifest))
    return check, queue, manifest


async def quota_check(ctx: ActionContext, p: TrainingJobSpec) -> dict[str, Any]:
    """Would this training job fit the namespace's ResourceQuota? (used / available / requested)"""
    check, queue, manifest = await _quota_and_queue(ctx, p)
    return {"fits": check.fits, "summary": check.summary(), "queue": queue,
            "shortfalls": [s.describe() for s in check.shortfalls], "manifest": manifest_yaml(manifest)}


async def create_job(ctx: ActionContext, p: JobCreate) -> dict[str, Any]:
    from backends.kube import operations as ops

    spec = TrainingJobSpec.model_validate(p.model_dump(exclude={"ignore_quota"}))
    check, queue, manifest = await _quota_and_queue(ctx, spec)
    if not check.fits and not p.ignore_quota and not queue:
        raise ActionRefused(check.summary())
    ctx.progress(check.summary())
    created = await ops.create(_source(ctx), manifest)
    meta = created.get("metadata") or {}
    return {"created": f"{created.get('kind')}/{meta.get('namespace')}/{meta.get('name')}", "uid": meta.get("uid"),
            "queue": queue, "quota": check.summary()}


def _plural_of(kind: str) -> str:
    return {"MPIJob": "mpijobs", "PyTorchJob": "pytorchjobs", "Job": "jobs"}[kind]


async def delete_job(ctx: ActionContext, p: JobDelete) -> dict[str, Any]:
    from backends.kube import operations as ops
    from backends.kube.resources import JOBS

    source = _source(ctx)
    res = JOBS if p.kind == "Job" else await source.resource(_plural_of(p.kind))
    if res is None:
        raise ActionRefused(f"{p.kind} is not installed on this cluster")
    await ops.delete(source, res, p.namespace, p.name, p.propagation_policy)
    return {"deleted": f"{p.kind}/{p.namespace}/{p.name}", "propagation_policy": p.propagation_policy}


# -- inference services ---------------------------------------------------------------------------
def model_version_uri(mlflow_source: Any, model: str, version: str) -> tuple[str, str]:
    """(version number, artifact storage URI) of a registered model version or alias (worker thread)."""
    client = mlflow_source.client()
    if not version.isdigit():
        version = str(client.get_model_version_by_alias(model, version).version)
    else:
        client.get_model_version(model, version)  # raises a clear RESOURCE_DOES_NOT_EXIST
    return version, client.get_model_version_download_uri(model, version)


async def deploy_model(ctx: ActionContext, p: DeployParams) -> dict[str, Any]:
    from backends.kube import operations as ops

    try:
        mlflow_source = ctx.adapter("mlflow")
        if not hasattr(mlflow_source, "client"):
            raise KeyError("mlflow")
    except KeyError:
        raise ActionRefused("the mlflow source is not configured: set cockpit.mlflow.tracking_uri") from None
    from cockpit.model_storage import UnreachableArtifacts, kserve_storage_uri

    version, artifact_uri = await asyncio.to_thread(model_version_uri, mlflow_source, p.model, p.version)
    kube_settings = ctx.runtime.config.cockpit.kubernetes
    inference = kube_settings.inference if kube_settings is not None else None
    try:
        uri = kserve_storage_uri(artifact_uri, artifacts_destination=inference.artifacts_destination if inference else None,
                                 local_predictor=p.local_predictor)
    except UnreachableArtifacts as exc:
        raise ActionRefused(f"model {p.model} version {version}: {exc}") from None
    name = p.name or p.model.lower().replace("_", "-")
    spec = InferenceSpec(name=name, namespace=p.namespace, storage_uri=uri, model_format=p.model_format,
                         protocol=p.protocol, gpus=p.gpus, cpu=p.cpu, memory=p.memory,
                         service_account=inference.service_account if inference else None,
                         labels={"mlflow.model": p.model.lower().replace("_", "-")[:63],
                                 "mlflow.version": version},
                         annotations={"cockpit/mlflow-model": p.model, "cockpit/mlflow-version": version})
    _, manifest = render_inference_service(spec)
    ctx.progress(f"storageUri {uri}")
    created = await ops.create(_source(ctx), manifest)
    return {"created": f"InferenceService/{p.namespace}/{name}", "storage_uri": uri, "artifact_uri": artifact_uri,
            "model": p.model,
            "version": version, "uid": (created.get("metadata") or {}).get("uid")}


async def delete_isvc(ctx: ActionContext, p: IsvcDelete) -> dict[str, Any]:
    """Delete an InferenceService; the registered MLflow model version stays"""
    from backends.kube import operations as ops

    source = _source(ctx)
    res = await source.resource("inferenceservices")
    if res is None:
        raise ActionRefused("KServe is not installed on this cluster (no InferenceService CRD)")
    await ops.delete(source, res, p.namespace, p.name, p.propagation_policy)
    return {"deleted": f"InferenceService/{p.namespace}/{p.name}", "propagation_policy": p.propagation_policy}


def _confirm_isvc_delete(p: IsvcDelete) -> str:
    what = {"Foreground": "its predictor (Deployment or Knative revisions, pods) is deleted first, then the service.",
            "Background": "the service goes now, its predictor objects and pods are deleted right after.",
            "Orphan": "the service goes, its predictor objects and pods keep running unowned."}[p.propagation_policy]
    return (f"Delete InferenceService {p.namespace}/{p.name} with propagationPolicy={p.propagation_policy}: {what} "
            "Its endpoint stops answering; the MLflow model version stays registered.")


async def inference_check(ctx: ActionContext, p: CheckParams) -> dict[str, Any]:
    """Send requests to an InferenceService; p50/p95 latency and req/s against the seeds' targets"""
    from backends.kube import inference, operations as ops
    from backends.kube.models import InferenceServiceItem

    base: str | None
    if p.url and p.protocol and p.gpus is not None:
        # Everything the service would tell is given (the lab's local predictor, a port-forward):
        # no Kubernetes API is needed.
        base, protocol, gpus = p.url, p.protocol, p.gpus
    else:
        source = _source(ctx)
        res = await source.resource("inferenceservices")
        if res is None:
            raise ActionRefused("KServe is not installed on this cluster (no InferenceService CRD)")
        item = InferenceServiceItem.from_api(await ops.get(source, res, p.namespace, p.name))
        base = p.url or item.url
        if not base:
            raise ActionRefused(f"InferenceService {p.namespace}/{p.name} has no URL yet (Ready={item.ready}); "
                                "pass url= (e.g. a port-forward) to test it anyway")
        protocol = p.protocol or ("v2" if item.protocol == "v2" else "v1")
        gpus = p.gpus if p.gpus is not None else item.gpus
    url, body = request_for(protocol, p.model or p.name, base, p.payload, p.input_shape)
    ctx.progress(f"{p.requests} requests to {url} ({p.concurrency} at a time)")
    latencies, errors, elapsed, first_error = await inference.load(
        url, body, requests=p.requests, concurrency=p.concurrency, progress=ctx.progress)
    out = summarize(latencies, errors, elapsed, gpus)
    out.update({"url": url, "protocol": protocol, "first_error": first_error})
    return out


def register(registry: ActionRegistry) -> None:
    registry.action("kube.pod.delete", PodRef, Danger.DESTROY, title="Delete pod",
                    confirm=lambda p: f"Delete pod {p.namespace}/{p.name}. If a controller (Job, ReplicaSet, "
                                      "training operator) owns it, the controller will create a replacement.",
                    refresh=("kubernetes",))(delete_pod)
    registry.action("kube.pod.describe", PodRef, Danger.READ, title="Describe pod")(describe_pod)
    registry.action("kube.pod.logs", LogParams, Danger.READ, title="Pod logs")(pod_logs)
    registry.action("kube.quota.check", TrainingJobSpec, Danger.READ, title="Check ResourceQuota")(quota_check)
    registry.action("kube.job.create", JobCreate, Danger.CHANGE, title="Create training job",
                    confirm=lambda p: (f"Create {p.kind} {p.namespace}/{p.name}: {p.workers} worker(s) x "
                                       f"({p.cpu} CPU, {p.memory}, {p.gpus} GPU) = {p.workers * p.gpus} GPU(s), "
                                       f"image {p.image}, command {' '.join(p.command)}"
                                       + (f", queue {p.queue}" if p.queue else "")
                                       + (" (even if the quota says it will not fit)" if p.ignore_quota else "")),
                    refresh=("kubernetes",))(create_job)
    registry.action("kube.job.delete", JobDelete, Danger.DESTROY, title="Delete training job",
                    confirm=lambda p: f"Delete {p.kind} {p.namespace}/{p.name} with propagationPolicy="
                                      f"{p.propagation_policy}: " + {
                                          "Foreground": "its pods are deleted first, then the job.",
                                          "Background": "the job goes now, its pods are deleted right after.",
                                          "Orphan": "the job goes, its pods keep running unowned."}[p.propagation_policy],
                    refresh=("kubernetes",))(delete_job)
    registry.action("kube.isvc.deploy", DeployParams, Danger.CHANGE, title="Deploy model to KServe",
                    confirm=lambda p: f"Create InferenceService {p.namespace}/{p.name or p.model} serving MLflow "
                                      f"model {p.model} version {p.version} ({p.model_format}, protocol {p.protocol}, "
                                      f"{p.gpus} GPU) from the version's storageUri"
                                      + (" (lab: local artifacts as file://, served by a local process)."
                                         if p.local_predictor else "."),
                    refresh=("kubernetes",))(deploy_model)
    registry.action("kube.isvc.delete", IsvcDelete, Danger.DESTROY, title="Delete InferenceService",
                    confirm=_confirm_isvc_delete, refresh=("kubernetes",))(delete_isvc)
    registry.action("kube.isvc.check", CheckParams, Danger.READ, title="Inference check")(inference_check)
