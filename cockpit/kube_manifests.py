"""Manifests for training jobs and inference services, generated from typed parameters.

The templates live in workloads/k8s/*.yaml.j2; this module validates the parameters (errors name
the field), renders the template and parses it back, so what the wizard's review shows is exactly
what will be submitted.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cockpit.kube_quota import parse_quantity

TEMPLATES = Path(__file__).resolve().parent.parent / "workloads" / "k8s"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
TEMPLATE_FOR_KIND = {"MPIJob": "mpijob.yaml.j2", "PyTorchJob": "pytorchjob.yaml.j2", "Job": "job.yaml.j2"}


def _dns_label(value: str, what: str, max_len: int = 63) -> str:
    if len(value) > max_len or not _DNS_LABEL.match(value):
        raise ValueError(f"{what} must be a lowercase DNS label of at most {max_len} characters "
                         f"(a-z, 0-9, '-'; start and end alphanumeric), got {value!r}")
    return value


class Volume(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    mount_path: str = Field(description="absolute path inside the container")
    claim: str | None = Field(default=None, description="PersistentVolumeClaim name")
    host_path: str | None = Field(default=None, description="host directory (e.g. the BeeGFS mount)")
    read_only: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _dns_label(v, "volume name")

    @field_validator("mount_path")
    @classmethod
    def _abs(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"mount_path must be absolute, got {v!r}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "Volume":
        if (self.claim is None) == (self.host_path is None):
            raise ValueError(f"volume {self.name}: give exactly one of claim or host_path")
        return self

    def volume(self) -> dict[str, Any]:
        if self.claim:
            return {"name": self.name, "persistentVolumeClaim": {"claimName": self.claim, "readOnly": self.read_only}}
        return {"name": self.name, "hostPath": {"path": self.host_path, "type": "Directory"}}

    def mount(self) -> dict[str, Any]:
        return {"name": self.name, "mountPath": self.mount_path, "readOnly": self.read_only}


class TrainingJobSpec(BaseModel):
    """What the creation wizard asks: name and namespace, image and command, workers with CPU,
    memory and GPUs each, volumes and env."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["MPIJob", "PyTorchJob", "Job"] = "MPIJob"
    name: str
    namespace: str = "default"
    image: str = Field(min_length=1)
    command: list[str] = Field(min_length=1)
    workers: int = Field(default=2, ge=1, le=256)
    cpu: str = "1"
    memory: str = "2Gi"
    gpus: int = Field(default=1, ge=0, le=16, description="GPUs per worker")
    slots_per_worker: int | None = Field(default=None, ge=1, description="MPI slots; default: GPUs per worker or 1")
    env: dict[str, str] = Field(default_factory=dict)
    volumes: list[Volume] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    queue: str | None = Field(default=None, description="Kueue LocalQueue name (label kueue.x-k8s.io/queue-name)")
    backoff_limit: int = Field(default=3, ge=0)
    mpi_api_version: Literal["kubeflow.org/v2beta1", "kubeflow.org/v1"] = "kubeflow.org/v2beta1"

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _dns_label(v, "name", 50)  # room for the operator's "-worker-12" suffixes

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return _dns_label(v, "namespace")

    @field_validator("cpu", "memory")
    @classmethod
    def _qty(cls, v: str) -> str:
        parse_quantity(v)
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for k in v:
            if not _ENV_NAME.match(k):
                raise ValueError(f"env name {k!r} is not a valid environment variable name")
        return v


class InferenceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    namespace: str = "default"
    storage_uri: str = Field(min_length=1)
    model_format: str = "mlflow"
    protocol: Literal["v1", "v2"] = "v2"
    gpus: int = Field(default=0, ge=0, le=16)
    cpu: str = "1"
    memory: str = "2Gi"
    min_replicas: int = Field(default=1, ge=0)
    service_account: str | None = None  # predictor serviceAccountName (storage credentials)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("name", "namespace")
    @classmethod
    def _dns(cls, v: str) -> str:
        return _dns_label(v, "name/namespace")

    @field_validator("cpu", "memory")
    @classmethod
    def _qty(cls, v: str) -> str:
        parse_quantity(v)
        return v


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def _resources(cpu: str, memory: str, gpus: int) -> dict[str, Any]:
    res: dict[str, Any] = {"cpu": cpu, "memory": memory}
    if gpus:
        res["nvidia.com/gpu"] = gpus
    return {"requests": dict(res), "limits": dict(res)}


def render_training_job(spec: TrainingJobSpec, *, queue: str | None = None) -> tuple[str, dict[str, Any]]:
    """(YAML text, manifest). `queue` overrides spec.queue (set when a LocalQueue exists)."""
    queue = queue or spec.queue
    labels = {**spec.labels, "app.kubernetes.io/managed-by": "aihow-cockpit"}
    if queue:
        labels[KUEUE_QUEUE_LABEL] = queue
    slots = spec.slots_per_worker or max(1, spec.gpus)
    env = [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
    launcher_command = ["mpirun", "--allow-run-as-root", "-np", str(spec.workers * slots), "-bind-to", "none",
                        "-map-by", "slot", *spec.command]
    text = _env().get_template(TEMPLATE_FOR_KIND[spec.kind]).render(
        api_version=spec.mpi_api_version, name=spec.name, namespace=spec.namespace, labels=labels,
        pod_labels={"app.kubernetes.io/part-of": spec.name}, image=spec.image, command=spec.command,
        launcher_command=launcher_command, workers=spec.workers, slots_per_worker=slots,
        backoff_limit=spec.backoff_limit, env=env,
        launcher_resources=_resources("500m", "512Mi", 0),
        worker_resources=_resources(spec.cpu, spec.memory, spec.gpus),
        volumes=[v.volume() for v in spec.volumes], volume_mounts=[v.mount() for v in spec.volumes],
    )
    return text, yaml.safe_load(text)


def render_inference_service(spec: InferenceSpec) -> tuple[str, dict[str, Any]]:
    text = _env().get_template("inferenceservice.yaml.j2").render(
        name=spec.name, namespace=spec.namespace, labels={**spec.labels, "app.kubernetes.io/managed-by": "aihow-cockpit"},
        annotations=spec.annotations, min_replicas=spec.min_replicas, model_format=spec.model_format,
        protocol=spec.protocol, storage_uri=spec.storage_uri, resources=_resources(spec.cpu, spec.memory, spec.gpus),
        service_account=spec.service_account,
    )
    return text, yaml.safe_load(text)


def manifest_yaml(manifest: dict[str, Any]) -> str:
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
