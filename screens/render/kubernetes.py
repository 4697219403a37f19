"""Rows of the Kubernetes panes: pods (the items), plus nodes, training jobs and inference
services (sections). Imports no Textual."""

from __future__ import annotations

from typing import Any

from screens.render import Column, attr, fmt

COLUMNS = [
    Column("NAMESPACE", attr("namespace")),
    Column("NAME", attr("name")),
    Column("PHASE", attr("phase")),
    Column("STATUS", attr("reason")),
    Column("READY", attr("ready")),
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
    Column("STATE", attr("state")),
    Column("REPLICAS", lambda j: " ".join(f"{r.role}:{r.active}/{r.desired}"
                                          + (f" ok{r.succeeded}" if r.succeeded else "")
                                          + (f" failed{r.failed}" if r.failed else "") for r in j.replicas)),
    Column("GPUS", attr("gpus")),
    Column("PODS", lambda j: len(j.pods)),
    Column("QUEUE", attr("queue")),
]

ISVC_COLUMNS = [
    Column("NAMESPACE", attr("namespace")),
    Column("NAME", attr("name")),
    Column("READY", lambda s: "True" if s.ready else f"False {s.reason}".strip()),
    Column("PARTS", lambda s: " ".join(f"{k}={'T' if v else 'F'}" for k, v in sorted(s.parts.items()))),
    Column("URL", attr("url")),
    Column("MODEL", lambda s: f"{s.model_format} {s.protocol}"),
    Column("GPUS", attr("gpus")),
]

# Section name -> columns, for panes that show the sections as their own tables.
SECTION_COLUMNS = {"nodes": NODE_COLUMNS, "training_jobs": JOB_COLUMNS, "inference_services": ISVC_COLUMNS}

ROW_ACTIONS = [
    ("D", "kube.pod.delete", "Delete pod", lambda item: {"namespace": item.namespace, "name": item.name}),
]

DETAIL_SCREEN = "screens.kube_pod:PodScreen"
JOB_DETAIL_SCREEN = "screens.kube_job:JobScreen"
WIZARD_SCREEN = "screens.kube_wizard:TrainingWizard"


def filter_pods(items: list[Any], namespace: str | None = None, text: str = "") -> list[Any]:
    """One namespace or all, then a case-insensitive substring over name, status, node and job."""
    needle = text.lower().strip()
    out = []
    for p in items:
        if namespace and p.namespace != namespace:
            continue
        if needle and needle not in " ".join(fmt(v) for v in (p.name, p.reason, p.phase, p.node, p.job)).lower():
            continue
        out.append(p)
    return out


def detail(item: Any) -> str:
    lines = [f"{item.namespace}/{item.name}  {item.phase} ({item.reason})"]
    if item.message:
        lines.append(item.message)
    lines.append(f"node {fmt(item.node)}  ready {item.ready}  restarts {item.restarts}  gpus {item.gpus}")
    if item.job:
        lines.append(f"job {item.job} ({fmt(item.role)})")
    return "\n".join(lines)
