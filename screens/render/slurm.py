"""The SLURM pane: queue columns, node and partition columns, row actions and job detail."""

from __future__ import annotations

from typing import Any

from screens.render import Column, attr, bar


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
    return item.get(name) if isinstance(item, dict) else getattr(item, name)


def _reason_or_nodes(item: Any) -> str:
    """squeue's NODELIST(REASON): nodes when placed, (reason) while pending."""
    if _get(item, "state") == "PENDING":
        return f"({_get(item, 'reason') or 'None'})"
    return _get(item, "nodes") or "-"


# Queue columns; `sort` names the Job field that column sorts by (cockpit.slurm_queue.sort_jobs).
COLUMNS = [
    Column("JOBID", attr("display_id")),
    Column("PARTITION", attr("partition")),
    Column("NAME", attr("name")),
    Column("USER", attr("user")),
    Column("ACCOUNT", attr("account")),
    Column("STATE", attr("state")),
    Column("EXIT", attr("exit_code")),  # return_code:signal as sacct prints it; 0:15 = killed by SIGTERM
    Column("TIME", lambda j: hms(_get(j, "time_used_s"))),
    Column("LIMIT", lambda j: hms(_get(j, "time_limit_s"), "UNLIMITED")),
    Column("NODES", attr("node_count")),
    Column("GPUS", attr("gpus")),
    Column("PRIO", attr("priority")),
    Column("NODELIST(REASON)", _reason_or_nodes),
]
SORT_FIELDS = {"JOBID": "display_id", "PARTITION": "partition", "NAME": "name", "USER": "user",
               "ACCOUNT": "account", "STATE": "state", "EXIT": "exit_code", "TIME": "time_used_s", "LIMIT": "time_limit_s",
               "NODES": "node_count", "GPUS": "gpus", "PRIO": "priority", "NODELIST(REASON)": "nodes"}

NODE_COLUMNS = [
    Column("NODE", attr("name")),
    Column("STATE", attr("state_label")),
    Column("CPUS A/T", lambda n: f"{_get(n, 'cpus_alloc') or 0}/{_get(n, 'cpus') or 0}"),
    Column("GPUS", lambda n: bar(_get(n, "gpus_used") / _get(n, "gpus") if _get(n, "gpus") else None, 6)
           + f" {_get(n, 'gpus_used')}/{_get(n, 'gpus')}"),
    Column("GRES USED", attr("gres_used")),
    Column("PARTITIONS", attr("partitions")),
    Column("REASON", lambda n: (_get(n, "reason") or "-")
           + (f" [{_get(n, 'reason_set_by')}]" if _get(n, "reason_set_by") else "")),
]

PARTITION_COLUMNS = [
    Column("PARTITION", lambda p: _get(p, "name") + ("*" if _get(p, "default") else "")),
    Column("STATE", attr("state")),
    Column("NODES", attr("node_count")),
    Column("NODE STATES", attr("node_states")),
    Column("GPUS USED", lambda p: f"{_get(p, 'gpus_used')}/{_get(p, 'gpus')}"),
    Column("MAXTIME", lambda p: hms(_get(p, "max_time_s"), "UNLIMITED")),
]

HISTORY_COLUMNS = [
    Column("JOBID", attr("display_id")),
    Column("NAME", attr("name")),
    Column("USER", attr("user")),
    Column("PARTITION", attr("partition")),
    Column("STATE", attr("state")),
    Column("EXIT", attr("exit_code")),
    Column("ELAPSED", lambda h: hms(_get(h, "elapsed_s"))),
    Column("GPUS", attr("gpus")),
    Column("NODES", attr("nodes")),
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
# Keys for the nodes table of the pane.
NODE_ACTIONS = [
    ("d", "slurm.drain", "drain", lambda n: {"node": _get(n, "name")}),
    ("u", "slurm.resume", "resume", lambda n: {"node": _get(n, "name")}),
]
DETAIL_SCREEN = "screens.slurm_job:JobScreen"


def filter_items(items: list[Any], text: str) -> list[Any]:
    """`/` on the queue: user:, p:, state:R,PD, name:/reason:/node: regexes, ! inverts."""
    from cockpit.slurm_queue import filter_jobs

    return filter_jobs(items, text)


def accounting_note(section: dict[str, Any] | None) -> str | None:
    """What the history table says instead of being empty."""
    if not section:
        return "no accounting information yet"
    if not section.get("available"):
        return section.get("reason") or "accounting is not available on this cluster"
    if section.get("error"):
        return f"sacct failed: {section['error']} (showing the last history read)"
    return None


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


def detail(item: Any) -> str:
    fields = item.model_dump(mode="json") if hasattr(item, "model_dump") else dict(item)
    width = max(len(k) for k in fields)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in fields.items())


# Extra tables of the SLURM pane, one per snapshot section.
SECTIONS = {
    "nodes": {"title": "nodes", "columns": NODE_COLUMNS, "actions": NODE_ACTIONS},
    "partitions": {"title": "partitions", "columns": PARTITION_COLUMNS},
}
