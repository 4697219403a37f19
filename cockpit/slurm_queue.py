"""The SLURM queue's filter fields and sort order: pure, shared by the queue pane, plans and tests.

The filter is the one grammar of cockpit.filtering, with these fields:
    user:alice  (u:)   partition:gpu  (p:)   account:x  (a:)   qos:normal   -> exact, comma for or
    state:R,PD  (s:)   long names or squeue's codes
    name:train  (n:)   reason:Res (r:)   nodes:node3 (node:)   id:41          -> substring
    gpus>0  cpus>=8  nnodes>1  prio>1000  time>1:00:00  limit<=2h  submit>2026-11-29
    free text          regex over id, name, user, partition, state, reason (code and words), nodes
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from cockpit.filtering import Field, Fields, compile_filter
from cockpit.slurm_reasons import explain
from cockpit.values import job_id_key

STATE_CODES = {
    "PD": "PENDING", "R": "RUNNING", "S": "SUSPENDED", "CG": "COMPLETING", "CD": "COMPLETED", "CA": "CANCELLED",
    "F": "FAILED", "TO": "TIMEOUT", "NF": "NODE_FAIL", "PR": "PREEMPTED", "BF": "BOOT_FAIL", "DL": "DEADLINE",
    "OOM": "OUT_OF_MEMORY", "RQ": "REQUEUED", "RH": "REQUEUE_HOLD", "RD": "RESV_DEL_HOLD", "SE": "SPECIAL_EXIT",
}


def _get(job: Any, name: str) -> Any:
    return job.get(name) if isinstance(job, dict) else getattr(job, name, None)


def _state(code: str) -> str:
    return STATE_CODES.get(code.upper(), code.upper())


def _limit(job: Any) -> float:
    limit = _get(job, "time_limit_s")
    return math.inf if limit is None else limit


def reason_text(job: Any) -> str:
    """The reason as free text and `reason:` see it: Slurm's code and its plain words."""
    code = _get(job, "reason")
    if not code:
        return ""
    words = explain(code).words
    return f"{code} {words}" if words else code


def _id_text(job: Any) -> str:
    return str(_get(job, "display_id") or _get(job, "job_id") or "")


FIELDS = Fields((
    # An array task's id is its array's (41 for 41_3, as squeue prints it), so id:41 finds them all.
    Field("id", lambda j: _get(j, "array_job_id") or _get(j, "job_id"), "number", aliases=("jobid", "job"),
          text=_id_text),
    Field("name", lambda j: _get(j, "name"), "text", aliases=("n",)),
    Field("user", lambda j: _get(j, "user"), "exact", aliases=("u",)),
    Field("partition", lambda j: _get(j, "partition"), "exact", aliases=("p",)),
    Field("account", lambda j: _get(j, "account"), "exact", aliases=("a",), free_text=False),
    Field("qos", lambda j: _get(j, "qos"), "exact", free_text=False),
    Field("state", lambda j: _get(j, "state"), "exact", aliases=("s",), normalize=_state),
    Field("reason", lambda j: _get(j, "reason"), "text", aliases=("r",), text=reason_text),
    Field("nodes", lambda j: _get(j, "nodes"), "text", aliases=("node", "nodelist")),
    Field("gpus", lambda j: _get(j, "gpus"), "number", aliases=("gpu",), free_text=False),
    Field("cpus", lambda j: _get(j, "cpus"), "number", aliases=("cpu",), free_text=False),
    Field("nnodes", lambda j: _get(j, "node_count"), "number", aliases=("node_count",), free_text=False),
    Field("priority", lambda j: _get(j, "priority"), "number", aliases=("prio",), free_text=False),
    # a pending job's place in its partition by priority (cockpit.slurm_priority): rank<=3 = next up
    Field("rank", lambda j: _get(j, "priority_rank"), "number", free_text=False),
    Field("time", lambda j: _get(j, "time_used_s"), "duration", aliases=("elapsed",), free_text=False),
    Field("limit", _limit, "duration", aliases=("timelimit",), free_text=False),
    Field("submit", lambda j: _get(j, "submit_time"), "time", free_text=False),
    Field("start", lambda j: _get(j, "start_time"), "time", free_text=False),
    Field("end", lambda j: _get(j, "end_time"), "time", free_text=False),
))


def filter_jobs(jobs: Iterable[Any], query: str) -> list[Any]:
    """Jobs passing the filter; raises cockpit.filtering.FilterError naming a bad term."""
    return compile_filter(query, FIELDS).filter(jobs)


def job_order(job: Any) -> tuple[Any, ...]:
    """Queue order by job id: numeric, array tasks beside their job (41, 41_3, 41_[4-9], 100)."""
    return job_id_key(_get(job, "display_id") or _get(job, "job_id"))
