"""Snapshot items for the `kubernetes` source (field names are part of the JSON contract,
documented in README 'Snapshot JSON: kubernetes')."""

from __future__ import annotations

from typing import Any, Mapping

from cockpit import kube_status as ks
from cockpit.snapshot import Item


class PodItem(Item):
    uid: str
    namespace: str
    name: str
    phase: str  # Pending / Running / Succeeded / Failed / Unknown (status.phase)
    reason: str  # kubectl's STATUS: CrashLoopBackOff, ImagePullBackOff, Unschedulable, Init:0/1, ...
    message: str = ""  # the scheduler's or kubelet's explanation
    node: str | None = None
    restarts: int = 0
    ready: str = "0/0"
    gpus: int = 0  # nvidia.com/gpu requested
    containers: tuple[str, ...] = ()
    job: str | None = None  # training / batch job the pod belongs to
    role: str | None = None  # launcher / worker / master
    created: str | None = None

    def key(self) -> str:
        return self.uid

    @classmethod
    def from_api(cls, pod: Mapping[str, Any]) -> "PodItem":
        meta = pod.get("metadata") or {}
        phase, reason, message = ks.pod_status(pod)
        job, role = ks.pod_job(pod)
        return cls(
            uid=meta.get("uid", ""), namespace=meta.get("namespace", ""), name=meta.get("name", ""),
            phase=phase, reason=reason, message=message, node=(pod.get("spec") or {}).get("nodeName"),
            restarts=ks.pod_restarts(pod), ready=ks.pod_ready(pod), gpus=ks.pod_gpus(pod),
            containers=tuple(c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []),
            job=job, role=role, created=meta.get("creationTimestamp"),
        )


class NodeItem(Item):
    name: str
    ready: bool
    roles: tuple[str, ...] = ()
    unschedulable: bool = False
    gpu_capacity: int = 0
    gpu_allocatable: int = 0
    gpu_allocated: int = 0  # requested by pods bound here that are not finished
    gpu_product: str | None = None  # nvidia.com/gpu.product label (GPU operator feature discovery)
    cpu_allocatable: str | None = None
    memory_allocatable: str | None = None

    def key(self) -> str:
        return self.name

    @classmethod
    def from_api(cls, node: Mapping[str, Any], allocated: int) -> "NodeItem":
        meta, status = node.get("metadata") or {}, node.get("status") or {}
        capacity, allocatable = ks.node_gpus(node)
        alloc = status.get("allocatable") or {}
        return cls(
            name=meta.get("name", ""), ready=ks.node_ready(node), roles=ks.node_roles(node),
            unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
            gpu_capacity=capacity, gpu_allocatable=allocatable, gpu_allocated=allocated,
            gpu_product=(meta.get("labels") or {}).get("nvidia.com/gpu.product"),
            cpu_allocatable=alloc.get("cpu"), memory_allocatable=alloc.get("memory"),
        )


class ReplicaStatus(Item):
    role: str
    desired: int = 0
    active: int = 0
    succeeded: int = 0
    failed: int = 0


class Condition(Item):
    type: str
    status: str
    reason: str = ""
    message: str = ""


class TrainingJobItem(Item):
    kind: str  # PyTorchJob / MPIJob / Job
    api_version: str
    namespace: str
    name: str
    uid: str
    state: str  # Pending / Created / Running / Restarting / Suspended / Succeeded / Failed
    conditions: tuple[Condition, ...] = ()
    replicas: tuple[ReplicaStatus, ...] = ()
    gpus: int = 0  # requested by all replicas together
    pods: tuple[str, ...] = ()  # names of the job's pods
    created: str | None = None
    queue: str | None = None  # Kueue LocalQueue

    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    @classmethod
    def from_api(cls, kind: str, obj: Mapping[str, Any], pods: tuple[str, ...] = ()) -> "TrainingJobItem":
        meta = obj.get("metadata") or {}
        return cls(
            kind=kind, api_version=obj.get("apiVersion", ""), namespace=meta.get("namespace", ""),
            name=meta.get("name", ""), uid=meta.get("uid", ""), state=ks.job_state(kind, obj),
            conditions=tuple(Condition(**c) for c in ks.job_conditions(obj)),
            replicas=tuple(ReplicaStatus(role=r, **v) for r, v in ks.replica_statuses(kind, obj).items()),
            gpus=ks.job_gpus(kind, obj), pods=pods, created=meta.get("creationTimestamp"),
            queue=(meta.get("labels") or {}).get("kueue.x-k8s.io/queue-name"),
        )


class InferenceServiceItem(Item):
    namespace: str
    name: str
    uid: str
    ready: bool
    reason: str = ""
    parts: dict[str, bool] = {}  # PredictorReady, IngressReady, LatestDeploymentReady, ...
    url: str | None = None
    model_format: str | None = None
    storage_uri: str | None = None
    runtime: str | None = None
    protocol: str = "v1"
    gpus: int = 0
    # status.components.predictor.traffic: [{revision, tag, latest, percent}]
    traffic: tuple[dict[str, Any], ...] = ()
    canary_percent: int | None = None  # spec.predictor.canaryTrafficPercent
    model_name: str | None = None  # the registered MLflow model kube.isvc.deploy served
    model_version: str | None = None

    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> "InferenceServiceItem":
        meta = obj.get("metadata") or {}
        return cls(namespace=meta.get("namespace", ""), name=meta.get("name", ""), uid=meta.get("uid", ""),
                   **ks.isvc_state(obj))
