"""Rows of the Kubernetes panes: pods (the items), plus nodes, training jobs and inference
services (sections). Imports no Textual."""

from __future__ import annotations

from typing import Any

from cockpit.filtering import Field, Fields, compile_filter
from cockpit.kube_waits import explain_admission, explain_pod, explain_training_job
from cockpit.kube_status import traffic_text
from screens.render import Column, attr, fmt
from screens.render.colours import BAD, POD_PHASES, TRAINING_STATES, RowStyle, field_of, pod_condition

COLUMNS = [
    Column("NAMESPACE", attr("namespace"), priority=5),
    Column("NAME", attr("name"), priority=10),
    Column("PHASE", attr("phase"), priority=9),
    Column("STATUS", lambda p: pod_status_cell(p), priority=8),
    Column("READY", attr("ready"), sort=lambda p: tuple(int(x) for x in p.ready.split("/")) if "/" in p.ready else p.ready),
    Column("RESTARTS", attr("restarts")),
    Column("NODE", attr("node")),
    Column("GPUS", attr("gpus")),
    Column("JOB", lambda i: f"{i.job}/{i.role}" if i.job and i.role else i.job),
]

NODE_COLUMNS = [
    Column("NODE", attr("name")),
    Column("READY", lambda n: "Ready" if n.ready else "NotReady"),
    Column("ROLES", attr("roles")),
    Column("GPU", attr("gpu_product")),
    Column("GPUS alloc/allocatable/cap", lambda n: f"{n.gpu_allocated}/{n.gpu_allocatable}/{n.gpu_capacity}"),
    Column("CPU", attr("cpu_allocatable")),
    Column("MEMORY", attr("memory_allocatable")),
]

JOB_COLUMNS = [
    Column("KIND", attr("kind")),
    Column("NAMESPACE", attr("namespace")),
    Column("NAME", attr("name")),
    Column("STATE", lambda j: job_state_cell(j)),
    Column("REPLICAS", lambda j: " ".join(f"{r.role}:{r.active}/{r.desired}"
                                          + (f" ok{r.succeeded}" if r.succeeded else "")
                                          + (f" failed{r.failed}" if r.failed else "") for r in j.replicas)),
    Column("GPUS", attr("gpus")),
    Column("PODS", lambda j: len(j.pods)),
    Column("QUEUE", attr("queue")),
]

def isvc_traffic(s: Any) -> str:
    """The split KServe reports ('90% prev, 10% latest'); before it reports one, the canary asked for."""
    shown = traffic_text(s.traffic)
    if not shown and s.canary_percent is not None:
        shown = f"canary {s.canary_percent}% requested"
    return shown


def isvc_model(s: Any) -> str | None:
    """The registered MLflow model and version served (kube.isvc.deploy's annotations), else the storage URI."""
    if s.model_name:
        return f"{s.model_name} v{s.model_version}" if s.model_version else s.model_name
    return s.storage_uri


ISVC_COLUMNS = [
    Column("NAMESPACE", attr("namespace")),
    Column("NAME", attr("name")),
    Column("READY", lambda s: "True" if s.ready else f"False {s.reason}".strip()),
    Column("PARTS", lambda s: " ".join(f"{k}={'T' if v else 'F'}" for k, v in sorted(s.parts.items()))),
    Column("URL", attr("url")),
    Column("TRAFFIC", lambda s: isvc_traffic(s)),
    Column("MODEL", lambda s: isvc_model(s)),
    Column("FORMAT", lambda s: f"{s.model_format} {s.protocol}"),
    Column("GPUS", attr("gpus")),
]

# Section name -> columns, for panes that show the sections as their own tables.
SECTION_COLUMNS = {"nodes": NODE_COLUMNS, "training_jobs": JOB_COLUMNS, "inference_services": ISVC_COLUMNS}

ROW_ACTIONS = [
    ("D", "kube.pod.delete", "Delete pod", lambda item: {"namespace": item.namespace, "name": item.name}),
]
# `m`: the GPU map through this pod: the GPUs it holds, their VMs and node, the run it logs to.
ROW_SCREENS = [("m", "screens.gpu_chain:PodChainScreen", "map: GPUs, VMs, node, run")]

DETAIL_SCREEN = "screens.kube_pod:PodScreen"
JOB_DETAIL_SCREEN = "screens.kube_job:JobScreen"
WIZARD_SCREEN = "screens.kube_wizard:TrainingWizard"


POD_FIELDS = Fields((
    Field("name", field_of("name"), "text"),
    Field("namespace", field_of("namespace"), "exact", aliases=("ns",)),
    Field("phase", field_of("phase"), "exact"),
    Field("status", field_of("reason"), "text", aliases=("reason",)),
    Field("node", field_of("node"), "text"),
    Field("job", field_of("job"), "text"),
    Field("role", field_of("role"), "exact", free_text=False),
    Field("gpus", field_of("gpus"), "number", free_text=False),
    Field("restarts", field_of("restarts"), "number", free_text=False),
))
FILTER_FIELDS = POD_FIELDS
ROW_STYLE = RowStyle(pod_condition, POD_PHASES)


def filter_pods(items: list[Any], namespace: str | None = None, text: str = "") -> list[Any]:
    """One namespace or all, then the filter grammar (free text over name, status, phase, node, job)."""
    query = compile_filter(text, POD_FIELDS)
    return [p for p in items if (not namespace or p.namespace == namespace) and query.matches(p)]


def job_state_cell(item: Any) -> str:
    """The job's state, and for one Kueue holds, that it waits for admission."""
    wait = explain_training_job(item.state, item.queue, getattr(item, "admission", None))
    return f"{item.state}: {wait.short}" if wait else item.state


def job_wait_lines(item: Any) -> list[str]:
    wait = explain_training_job(item.state, item.queue, getattr(item, "admission", None))
    return [f"why waiting  {wait.words}", f"what to do   {wait.action}"] if wait else []


def pod_status_cell(item: Any) -> str:
    """kubectl's STATUS, and for a pod that cannot be placed, why in a few words."""
    wait = _pod_wait(item.reason, item.message, getattr(item, "admission", None))
    return f"{item.reason}: {wait.short}" if wait else item.reason


def _pod_wait(reason: str, message: str, admission: Any = None) -> Any:
    """A pod Kueue gates (pod integration) says Kueue's reason from its Workload; others the scheduler's."""
    if admission is not None and reason == "SchedulingGated":
        return explain_admission(admission)  # None once admitted: the gate is about to go
    return explain_pod(reason, message)


def wait_lines(reason: str, message: str, admission: Any = None) -> list[str]:
    """'why waiting' and 'what to do' lines for a pod's detail; none when it is not waiting."""
    wait = _pod_wait(reason, message, admission)
    return [f"why waiting  {wait.words}", f"what to do   {wait.action}"] if wait else []


def detail(item: Any) -> str:
    lines = [f"{item.namespace}/{item.name}  {item.phase} ({item.reason})"]
    if item.message:
        lines.append(item.message)
    lines += wait_lines(item.reason, item.message, getattr(item, "admission", None))
    lines.append(f"node {fmt(item.node)}  ready {item.ready}  restarts {item.restarts}  gpus {item.gpus}")
    if item.job:
        lines.append(f"job {item.job} ({fmt(item.role)})")
    return "\n".join(lines)


# Extra tables of the Kubernetes pane, and the screens its keys open.
SECTIONS = {
    "training_jobs": {"title": "training jobs", "columns": JOB_COLUMNS, "detail_screen": JOB_DETAIL_SCREEN,
                      "row_style": RowStyle(field_of("state"), TRAINING_STATES)},
    "inference_services": {"title": "inference services", "columns": ISVC_COLUMNS,
                           "row_style": RowStyle(lambda s: "ready" if s.ready else "not", {"not": "yellow"})},
    "nodes": {"title": "nodes", "columns": NODE_COLUMNS,
              "row_style": RowStyle(lambda n: "ready" if n.ready else "not", {"not": BAD})},
}
PANE_SCREENS = [("w", "New distributed training job (wizard)", WIZARD_SCREEN)]
