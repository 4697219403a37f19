"""Snapshot items for the `kubernetes` source (field names are part of the JSON contract,
documented in README 'Snapshot JSON: kubernetes')."""

from __future__ import annotations

from typing import Any, Mapping

from cockpit import kube_status as ks
from cockpit.items import Item


class KueueAdmission(Item):
    """Where a job or pod stands with Kueue: its Workload's admission (kueue.x-k8s.io/v1beta1,
    apis/kueue/v1beta1/workload_types.go). `reason` and `message` are the QuotaReserved
    condition's while no quota is reserved (Pending: what does not fit; Inadmissible: a missing or
    stopped queue), the Admitted condition's once quota is reserved."""

    workload: str  # the Workload's name
    queue: str | None = None  # spec.queueName (the LocalQueue)
    cluster_queue: str | None = None  # status.admission.clusterQueue, once quota is reserved
    quota_reserved: bool | None = None  # None: Kueue has not tried it yet (no condition)
    admitted: bool | None = None
    reason: str = ""
    message: str = ""
    evicted: str = ""  # the Evicted condition's message while True (preempted, PodsReady timeout)


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
    admission: KueueAdmission | None = None  # Kueue's pod integration: the pod's own Workload

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
    admission: KueueAdmission | None = None  # its Kueue Workload's admission, when Kueue manages it

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


class WorkloadItem(Item):
    """A Kueue Workload: the unit Kueue admits, owned (controller ownerReference) by the job or pod
    it stands for."""

    namespace: str
    name: str
    uid: str
    owner_kind: str | None = None
    owner_name: str | None = None
    admission: KueueAdmission

    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> "WorkloadItem":
        meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
        owners = meta.get("ownerReferences") or []
        owner = next((o for o in owners if o.get("controller")), owners[0] if owners else {})
        conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, Mapping)}

        def state(kind: str) -> bool | None:
            found = conditions.get(kind)
            return None if found is None else found.get("status") == "True"

        reserved, admitted = state("QuotaReserved"), state("Admitted")
        # why it is not running yet: the quota condition until quota is reserved, then admission's
        said = conditions.get("Admitted" if reserved else "QuotaReserved") or {}
        evicted = conditions.get("Evicted") or {}
        return cls(
            namespace=meta.get("namespace", ""), name=meta.get("name", ""), uid=meta.get("uid", ""),
            owner_kind=owner.get("kind"), owner_name=owner.get("name"),
            admission=KueueAdmission(
                workload=meta.get("name", ""), queue=spec.get("queueName"),
                cluster_queue=(status.get("admission") or {}).get("clusterQueue"),
                quota_reserved=reserved, admitted=admitted,
                reason=str(said.get("reason") or ""), message=str(said.get("message") or ""),
                evicted=str(evicted.get("message") or "") if evicted.get("status") == "True" else "",
            ),
        )
