"""The SLURM pane: queue columns, node and partition columns, row actions and job detail."""

from __future__ import annotations

import math
from typing import Any

from cockpit.job_efficiency import efficiency_lines, job_efficiency
from cockpit.slurm_queue import FIELDS as QUEUE_FIELDS
from cockpit.slurm_queue import job_order
from cockpit.slurm_priority import ordinal
from cockpit.slurm_reasons import explain, what_to_do, why_waiting
from cockpit.values import duration, plain, sort_key, when
from screens.render import Column, attr, bar
from screens.render.colours import JOB_STATES, NODE_STYLES, RowStyle, node_condition


def hms(seconds: int | None, unlimited: str = "-") -> str:
    """squeue's TIME format: [days-]hours:minutes:seconds."""
    if seconds is None:
        return unlimited
    days, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    core = f"{h}:{m:02d}:{s:02d}" if h or days else f"{m}:{s:02d}"
    return f"{days}-{h:02d}:{m:02d}:{s:02d}" if days else core


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _row_key(action: str) -> str | None:
    """The queue row key bound to an action (`l` for slurm.release): what the reason words cite."""
    return next((key for key, name, _, _ in ROW_ACTIONS if name == action), None)


def _reason_or_nodes(item: Any, nodes: Any = None) -> str:
    """squeue's NODELIST(REASON): nodes when placed; while pending, Slurm's code in parentheses
    followed by what it means (and, for Resources, what is short on the nodes of its partition)."""
    if _get(item, "state") == "PENDING":
        why = why_waiting(item, nodes, _row_key) or ""
        code = _get(item, "reason") or "None"
        words = why.split(": ", 1)[1] if ": " in why else why
        return f"({code}) {words}".rstrip() if words and words != code else f"({code})"
    return _get(item, "nodes") or "-"


def _limit_key(item: Any) -> float:
    limit = _get(item, "time_limit_s")
    return math.inf if limit is None else limit


def _exit_key(item: Any) -> tuple:
    """Exit codes by value: 0:0 first, then by return code, then signal (not as text: 2:0 < 10:0)."""
    code = _get(item, "exit_code")
    try:
        ret, _, sig = str(code).partition(":")
        return (0, int(ret), int(sig or 0))
    except ValueError:
        return sort_key(code)


def columns_for(nodes: Any = None) -> list[Column]:
    """The queue columns; `nodes` (the snapshot's node list) lets a Resources wait say what is short."""
    return [
        Column("JOBID", attr("display_id"), sort=job_order, priority=10),
        Column("PARTITION", attr("partition"), priority=4),
        Column("NAME", attr("name"), width=24, priority=7),
        Column("USER", attr("user"), priority=6),
        Column("ACCOUNT", attr("account"), priority=-1),
        Column("STATE", attr("state"), priority=9),
        # return_code:signal as sacct prints it; 0:15 = killed by SIGTERM
        Column("EXIT", attr("exit_code"), sort=_exit_key, priority=-1),
        Column("TIME", attr("time_used_s"), render=hms, priority=5),
        Column("LIMIT", attr("time_limit_s"), render=lambda s: hms(s, "UNLIMITED"), sort=_limit_key, priority=1),
        Column("NODES", attr("node_count"), priority=0),
        Column("GPUS", attr("gpus"), priority=3),
        Column("PRIO", attr("priority"), priority=-2),
        Column("NODELIST(REASON)", lambda j: _reason_or_nodes(j, nodes), width=72, priority=8,
               sort=lambda j: sort_key(_get(j, "nodes") or _get(j, "reason"))),
    ]


# Queue columns: each sorts by its value (job ids array-aware, times in seconds), and the
# reason column ranks just below the id and state, so a narrow pane hides others first.
COLUMNS = columns_for()
DEFAULT_SORT = "JOBID"
FILTER_FIELDS = QUEUE_FIELDS
ROW_STYLE = RowStyle(attr("state"), JOB_STATES)
_columns_memo: dict[str, Any] = {"nodes": None, "columns": COLUMNS}


def columns_for_snapshot(snapshot: Any) -> list[Column]:
    """The queue columns for this snapshot, rebuilt only when the node list changed (so the
    table's per-row cell cache survives job-only updates)."""
    nodes = tuple(snapshot.sections.get("nodes") or ()) if snapshot is not None else ()
    if nodes != _columns_memo["nodes"]:
        _columns_memo["nodes"] = nodes
        _columns_memo["columns"] = columns_for(nodes or None)
    return _columns_memo["columns"]


NODE_COLUMNS = [
    Column("NODE", attr("name"), priority=10),
    Column("STATE", attr("state_label"), priority=9),
    Column("CPUS A/T", lambda n: f"{_get(n, 'cpus_alloc') or 0}/{_get(n, 'cpus') or 0}"),
    Column("GPUS", lambda n: bar(_get(n, "gpus_used") / _get(n, "gpus") if _get(n, "gpus") else None, 6)
           + f" {_get(n, 'gpus_used')}/{_get(n, 'gpus')}"),
    Column("GRES USED", attr("gres_used")),
    Column("PARTITIONS", attr("partitions")),
    Column("REASON", lambda n: (_get(n, "reason") or "-")
           + (f" [{_get(n, 'reason_set_by')}]" if _get(n, "reason_set_by") else ""), priority=8),
]
NODE_ROW_STYLE = RowStyle(node_condition, NODE_STYLES)

PARTITION_COLUMNS = [
    Column("PARTITION", lambda p: _get(p, "name") + ("*" if _get(p, "default") else "")),
    Column("STATE", attr("state")),
    Column("NODES", attr("node_count")),
    Column("NODE STATES", attr("node_states")),
    Column("GPUS USED", lambda p: f"{_get(p, 'gpus_used')}/{_get(p, 'gpus')}"),
    Column("MAXTIME", attr("max_time_s"), render=lambda s: hms(s, "UNLIMITED"),
           sort=lambda p: math.inf if _get(p, "max_time_s") is None else _get(p, "max_time_s")),
]


def _job_ref(item: Any) -> dict[str, Any]:
    return {"job_id": _get(item, "job_id")}


# (key, action, label, params from the selected row): the dashboard confirms with the action's text.
ROW_ACTIONS = [
    ("c", "slurm.cancel", "cancel", _job_ref),
    ("h", "slurm.hold", "hold", _job_ref),
    ("l", "slurm.release", "release", _job_ref),
    ("R", "slurm.requeue", "requeue", _job_ref),
]
# `m`: the GPU map through this job: the GPUs it holds, their VMs and nodes, the run it logs to.
ROW_SCREENS = [("m", "screens.gpu_chain:JobChainScreen", "map: GPUs, VMs, node, run")]
# Keys for the nodes table of the pane.
NODE_ACTIONS = [
    ("d", "slurm.drain", "drain", lambda n: {"node": _get(n, "name")}),
    ("u", "slurm.resume", "resume", lambda n: {"node": _get(n, "name")}),
]
DETAIL_SCREEN = "screens.slurm_job:JobScreen"


STEP_COLUMNS = (("JobID", "step_id", 14), ("JobName", "name", 10), ("State", "state", 10),
                ("ExitCode", "exit_code", 8), ("Elapsed", "elapsed_s", 10), ("NodeList", "nodes", 0))


def steps_table(steps: list[dict[str, Any]]) -> str:
    """A job's steps as sacct lists them under the job: batch, extern, interactive, numbered."""
    def cell(step: dict[str, Any], field: str) -> str:
        value = step.get(field)
        if field == "elapsed_s":
            return hms(value)
        return "-" if value is None else str(value)

    lines = [" ".join(f"{title:<{width}}" if width else title for title, _, width in STEP_COLUMNS)]
    for step in steps:
        lines.append(" ".join(f"{cell(step, field):<{width}}" if width else cell(step, field)
                              for _, field, width in STEP_COLUMNS))
    return "\n".join(lines)


def efficiency_block(accounting: dict[str, Any] | None) -> str:
    """The job's "Efficiency" block (seff's CPU and memory, plus GPU where accounted) from its
    accounting record; empty when there is none or the job has not started."""
    eff = job_efficiency(accounting) if accounting else None
    if eff is None:
        return ""
    return "Efficiency" + (" (so far)" if eff.partial else "") + "\n" + "\n".join(f"  {line}" for line in efficiency_lines(eff))


def _fields(item: Any) -> dict[str, Any]:
    return item.model_dump() if hasattr(item, "model_dump") else dict(item)


def _time_limit(seconds: Any) -> str:
    return "UNLIMITED" if seconds is None else duration(seconds)


def _priority(j: dict[str, Any]) -> Any:
    """4294901753 (2nd of 3 pending in debug): the value, and where it puts the job."""
    rank, of = j.get("priority_rank"), j.get("priority_rank_of")
    if not rank or not of:
        return j.get("priority")
    where = f" in {j['partition']}" if j.get("partition") else ""
    return f"{j.get('priority')} ({ordinal(rank)} of {of} pending{where})"


def detail(item: Any, nodes: Any = None, now: Any = None) -> str:
    """A job in human terms: why it waits first, then who, where, when and how long; no None.
    `now`: the moment shown (replay: the recorded one), from which "(3m ago)" counts."""
    j = _fields(item)
    lines = [f"job {j.get('display_id') or j.get('job_id')}  {j.get('name') or ''}  ({j.get('state')}"
             + (f", {', '.join(j['state_flags'])}" if j.get("state_flags") else "") + ")"]
    why = why_waiting(item, nodes, _row_key)
    rows: list[tuple[str, Any]] = []
    if why:
        rows.append(("why waiting", why))
    elif j.get("reason"):
        rows.append(("reason", explain_label(j["reason"])))
    if why or j.get("reason"):
        rows.append(("what to do", what_to_do(j)))
    rows += [
        ("user", j.get("user")), ("account", j.get("account")), ("partition", j.get("partition")),
        ("qos", j.get("qos")), ("priority", _priority(j)),
    ]
    placed = j.get("nodes")
    resources = []
    if j.get("node_count"):
        resources.append(f"{j['node_count']} node{'s' if j['node_count'] != 1 else ''}")
    if j.get("cpus"):
        resources.append(f"{j['cpus']} CPU{'s' if j['cpus'] != 1 else ''}")
    if j.get("gpus"):
        resources.append(f"{j['gpus']} GPU{'s' if j['gpus'] != 1 else ''}")
    rows += [("nodes", placed), ("resources", ", ".join(resources) + (f" ({j['gres']})" if j.get("gres") else ""))]
    if j.get("array_job_id") is not None and j.get("array_task_id") is not None:
        rows.append(("array", f"task {j['array_task_id']} of job {j['array_job_id']}"))
    elif j.get("array_tasks"):
        rows.append(("array", f"tasks {j['array_tasks']} still pending"))
    rows += [
        ("submitted", when(j.get("submit_time"), now)), ("started", when(j.get("start_time"), now)),
        ("ended", when(j.get("end_time"), now)),
        ("time used", duration(j.get("time_used_s")) if j.get("start_time") or j.get("time_used_s") else None),
        ("time limit", _time_limit(j.get("time_limit_s"))),
        ("exit code", j.get("exit_code") if j.get("state") not in ("PENDING", "RUNNING") else None), ("batch host", j.get("batch_host")), ("work dir", j.get("work_dir")),
        ("stdout", j.get("stdout")), ("stderr", j.get("stderr") if j.get("stderr") != j.get("stdout") else None),
    ]
    shown = [(k, v) for k, v in rows if v not in (None, "", "-")]
    width = max((len(k) for k, _ in shown), default=0)
    lines += [f"{k:<{width}}  {plain(v)}" for k, v in shown]
    return "\n".join(lines)


_EMPTY: tuple[Any, ...] = (None, "", "(null)", "N/A", "None", [], {}, "n/a")


def _raw_value(value: Any) -> Any:
    """slurmrestd's {"set", "infinite", "number"} numbers as their value; the rest unchanged."""
    if isinstance(value, dict) and "number" in value and ("set" in value or "infinite" in value):
        if value.get("infinite"):
            return "UNLIMITED"
        return value.get("number") if value.get("set", True) else None
    return value


def raw_fields(fields: dict[str, Any]) -> str:
    """Every field Slurm reported for the job, without the empty ones ((null), N/A, unset)."""
    lines = []
    for key, value in fields.items():
        value = _raw_value(value)
        if value in _EMPTY or (isinstance(value, dict) and not any(_raw_value(v) not in _EMPTY for v in value.values())):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={plain(_raw_value(v))}" for k, v in value.items() if _raw_value(v) not in _EMPTY)
        lines.append(f"{key}={plain(value)}")
    return "\n".join(lines)


def explain_label(code: str) -> str:
    return explain(code).label(_row_key)


# Extra tables of the SLURM pane, one per snapshot section.
SECTIONS = {
    "nodes": {"title": "nodes", "columns": NODE_COLUMNS, "actions": NODE_ACTIONS, "row_style": NODE_ROW_STYLE,
              "default_sort": "NODE"},  # node2 before node10
    "partitions": {"title": "partitions", "columns": PARTITION_COLUMNS},
}
