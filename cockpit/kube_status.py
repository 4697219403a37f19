"""Kubernetes status decisions as pure functions over API objects (plain dicts).

What a pane shows for a pod, node, training job or inference service is decided here, from the
objects exactly as the apiserver returns them, so it can be tested without any server.
The pod status follows kubectl's STATUS column (printPod in k8s.io/kubernetes/pkg/printers).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

GPU_RESOURCE = "nvidia.com/gpu"
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
# Training job conditions in the order they usually happen; the job's state is the latest true one.
JOB_CONDITIONS = ("Created", "Running", "Restarting", "Suspended", "Succeeded", "Failed")


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def container_gpus(container: Mapping[str, Any]) -> int:
    """GPUs a container asks for: extended resources must have requests == limits, and a limit alone
    implies the request."""
    res = container.get("resources") or {}
    return max(_int((res.get("requests") or {}).get(GPU_RESOURCE)), _int((res.get("limits") or {}).get(GPU_RESOURCE)))


def pod_gpus(pod: Mapping[str, Any]) -> int:
    """Effective GPU request of a pod: max(sum of app containers, largest init container)."""
    spec = pod.get("spec") or {}
    app = sum(container_gpus(c) for c in spec.get("containers") or [])
    init = max((container_gpus(c) for c in spec.get("initContainers") or []), default=0)
    return max(app, init)


def pod_restarts(pod: Mapping[str, Any]) -> int:
    status = pod.get("status") or {}
    return sum(_int(cs.get("restartCount")) for cs in status.get("containerStatuses") or [])


def pod_ready(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or []) or len(statuses)
    return f"{sum(1 for cs in statuses if cs.get('ready'))}/{total}"


def _condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def pod_status(pod: Mapping[str, Any]) -> tuple[str, str, str]:
    """(phase, reason, message) where reason is what kubectl shows in STATUS (CrashLoopBackOff,
    ImagePullBackOff, Init:0/1, Terminating, ...) and message explains a Pending pod with the
    scheduler's words (\"0/3 nodes are available: 3 Insufficient nvidia.com/gpu.\")."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Unknown"
    reason = status.get("reason") or phase
    message = status.get("message") or ""
    spec = pod.get("spec") or {}

    init_statuses = status.get("initContainerStatuses") or []
    n_init = len(spec.get("initContainers") or [])
    initializing = False
    for i, cs in enumerate(init_statuses):
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and _int(term.get("exitCode")) == 0:
            continue
        initializing = True
        if term:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif _int(term.get("signal")):
                reason = f"Init:Signal:{_int(term.get('signal'))}"
            else:
                reason = f"Init:ExitCode:{_int(term.get('exitCode'))}"
            message = term.get("message") or message
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
            message = wait.get("message") or message
        else:
            reason = f"Init:{i}/{n_init or len(init_statuses)}"
        break

    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            wait, term = state.get("waiting"), state.get("terminated")
            if wait and wait.get("reason"):
                reason = wait["reason"]
                message = wait.get("message") or message
            elif term and term.get("reason"):
                reason = term["reason"]
                message = term.get("message") or message
            elif term:
                reason = (f"Signal:{_int(term.get('signal'))}" if _int(term.get("signal"))
                          else f"ExitCode:{_int(term.get('exitCode'))}")
            elif state.get("running") and cs.get("ready"):
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"

    if phase == "Pending" and reason == "Pending":
        scheduled = _condition(pod, "PodScheduled")
        if scheduled is not None and scheduled.get("status") == "False":
            reason = scheduled.get("reason") or "Unschedulable"
            message = scheduled.get("message") or message
            gates = [str(g["name"]) for g in spec.get("schedulingGates") or [] if isinstance(g, Mapping) and g.get("name")]
            if reason == "SchedulingGated" and gates:  # which controller holds it (Kueue: kueue.x-k8s.io/admission)
                message = f"{message} (gates: {', '.join(gates)})".strip()
        elif not (pod.get("spec") or {}).get("nodeName"):
            reason = "Pending"
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return phase, reason, message


def owner(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return refs[0] if refs else None


# Labels the training operators put on the pods they create.
JOB_NAME_LABELS = ("training.kubeflow.org/job-name", "batch.kubernetes.io/job-name", "job-name")
ROLE_LABELS = ("training.kubeflow.org/job-role", "training.kubeflow.org/replica-type")


def pod_job(pod: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(training or batch job name, role such as launcher/worker/master) from the pod's labels."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    job = next((labels[k] for k in JOB_NAME_LABELS if labels.get(k)), None)
    role = next((labels[k].lower() for k in ROLE_LABELS if labels.get(k)), None)
    return job, role


# -- nodes ----------------------------------------------------------------------------------------
def node_ready(node: Mapping[str, Any]) -> bool:
    cond = _condition(node, "Ready")
    return bool(cond and cond.get("status") == "True")


def node_roles(node: Mapping[str, Any]) -> tuple[str, ...]:
    labels = (node.get("metadata") or {}).get("labels") or {}
    prefix = "node-role.kubernetes.io/"
    return tuple(sorted(k[len(prefix):] for k in labels if k.startswith(prefix) and k[len(prefix):]))


def node_gpus(node: Mapping[str, Any]) -> tuple[int, int]:
    status = node.get("status") or {}
    return (_int((status.get("capacity") or {}).get(GPU_RESOURCE)),
            _int((status.get("allocatable") or {}).get(GPU_RESOURCE)))


def gpus_allocated(pods: Iterable[tuple[str | None, str, int]]) -> dict[str, int]:
    """node -> GPUs requested by pods bound to it that still hold them (not Succeeded/Failed).
    Takes (node, phase, gpus) triples so callers can feed cached rows."""
    out: dict[str, int] = {}
    for node, phase, gpus in pods:
        if node and gpus and phase not in TERMINAL_PHASES:
            out[node] = out.get(node, 0) + gpus
    return out


# -- training jobs --------------------------------------------------------------------------------
def job_conditions(obj: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for c in (obj.get("status") or {}).get("conditions") or []:
        out.append({"type": str(c.get("type", "")), "status": str(c.get("status", "")),
                    "reason": str(c.get("reason") or ""), "message": str(c.get("message") or "")})
    return out


def job_state(kind: str, obj: Mapping[str, Any]) -> str:
    """The job's state: the latest true condition (PyTorchJob/MPIJob), with batch/v1 Job's
    Complete read as Succeeded. 'Pending' when the operator has not reported yet."""
    conds = [c for c in job_conditions(obj) if c["status"] == "True"]
    if kind == "Job":
        types = {c["type"] for c in conds}
        if "Failed" in types:
            return "Failed"
        if "Complete" in types or "SuccessCriteriaMet" in types:
            return "Succeeded"
        if "Suspended" in types:
            return "Suspended"
        status = obj.get("status") or {}
        return "Running" if _int(status.get("active")) else ("Pending" if not status else "Created")
    if not conds:
        return "Pending"
    for terminal in ("Failed", "Succeeded"):
        if any(c["type"] == terminal for c in conds):
            return terminal
    return conds[-1]["type"]


def replica_specs(kind: str, obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    spec = obj.get("spec") or {}
    if kind == "PyTorchJob":
        return dict(spec.get("pytorchReplicaSpecs") or {})
    if kind == "MPIJob":
        return dict(spec.get("mpiReplicaSpecs") or {})
    if kind == "Job":
        return {"Pod": {"replicas": spec.get("parallelism", 1), "template": spec.get("template") or {}}}
    return {}


def replica_statuses(kind: str, obj: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """role -> {desired, active, succeeded, failed} (roles: Master/Worker, Launcher/Worker, Pod)."""
    status = obj.get("status") or {}
    out: dict[str, dict[str, int]] = {}
    for role, rs in replica_specs(kind, obj).items():
        out[role] = {"desired": _int(rs.get("replicas", 1)), "active": 0, "succeeded": 0, "failed": 0}
    if kind == "Job":
        out.setdefault("Pod", {"desired": 1, "active": 0, "succeeded": 0, "failed": 0})
        for k in ("active", "succeeded", "failed"):
            out["Pod"][k] = _int(status.get(k))
        return out
    for role, rs in (status.get("replicaStatuses") or {}).items():
        entry = out.setdefault(role, {"desired": 0, "active": 0, "succeeded": 0, "failed": 0})
        for k in ("active", "succeeded", "failed"):
            entry[k] = _int((rs or {}).get(k))
    return out


def job_gpus(kind: str, obj: Mapping[str, Any]) -> int:
    total = 0
    for rs in replica_specs(kind, obj).values():
        template = rs.get("template") or {}
        total += _int(rs.get("replicas", 1)) * pod_gpus(template)
    return total


# -- inference services ---------------------------------------------------------------------------
# The annotations kube.isvc.deploy writes: which registered MLflow model and version is served.
MODEL_ANNOTATION, VERSION_ANNOTATION = "cockpit/mlflow-model", "cockpit/mlflow-version"


def isvc_traffic(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The predictor's traffic split: status.components.predictor.traffic, a list of Knative
    TrafficTargets (KServe pkg/apis/serving/v1beta1/inference_service_status.go,
    ComponentStatusSpec.Traffic; fields tag, revisionName, latestRevision, percent). A revision
    with no percent gets none (Knative omits zero)."""
    components = (obj.get("status") or {}).get("components") or {}
    targets = (components.get("predictor") or {}).get("traffic") or []
    return [{"revision": t.get("revisionName"), "tag": t.get("tag"), "latest": bool(t.get("latestRevision")),
             "percent": _int(t.get("percent"))} for t in targets if isinstance(t, Mapping)]


def traffic_text(traffic: Iterable[Mapping[str, Any]]) -> str:
    """'90% prev, 10% latest': each target's percent and its tag (or revision name)."""
    return ", ".join(f"{t.get('percent', 0)}% {t.get('tag') or t.get('revision') or ('latest' if t.get('latest') else '?')}"
                     for t in traffic)


def isvc_state(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Ready and its parts (PredictorReady, IngressReady, ...), URL and predictor of a KServe
    InferenceService (serving.kserve.io/v1beta1)."""
    status = obj.get("status") or {}
    conds = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conds.get("Ready")
    predictor = ((obj.get("spec") or {}).get("predictor") or {})
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    model = predictor.get("model") or {}
    fmt = (model.get("modelFormat") or {}).get("name")
    if not fmt:  # older style: predictor.sklearn / predictor.pytorch / ...
        fmt = next((k for k in predictor if isinstance(predictor[k], dict) and "storageUri" in predictor[k]), None)
        model = predictor.get(fmt) or {} if fmt else model
    return {
        "ready": (ready or {}).get("status") == "True",
        "reason": (ready or {}).get("reason") or ((ready or {}).get("message") or ""),
        "parts": {str(t): c.get("status") == "True" for t, c in conds.items() if t != "Ready"},
        "url": status.get("url"),
        "model_format": fmt,
        "storage_uri": model.get("storageUri"),
        "runtime": model.get("runtime"),
        "protocol": model.get("protocolVersion") or "v1",
        "gpus": container_gpus(model),
        "traffic": isvc_traffic(obj),
        "canary_percent": predictor.get("canaryTrafficPercent"),
        "model_name": annotations.get(MODEL_ANNOTATION),
        "model_version": annotations.get(VERSION_ANNOTATION),
    }
