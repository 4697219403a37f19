"""Parse Slurm's JSON (squeue/sinfo/sacct/scontrol `--json`, slurmrestd), data_parser v0.0.38 .. v0.0.45.

The versions differ in shape, not meaning, so each getter accepts every known spelling:
- numbers: plain ints (v0.0.38; null for unset) or `{"set", "infinite", "number"}` (v0.0.39+);
- job and node state: a string (v0.0.38, `"mixed"` for nodes) or a list of flags
  (v0.0.40+: `["PENDING", "REQUEUED"]`, `["IDLE", "DRAIN"]`);
- exit codes: a wait status int (v0.0.38 squeue, 23.02 before .4), the same wait status in a
  number struct (v0.0.39 squeue from 23.02.4: `{"set", "infinite", "number"}`), or a verbose
  record `{"status", "return_code", "signal": {"id" | "signal_id", "name"}}` (sacct v0.0.38 and
  v0.0.39, everything from v0.0.40), where numbers may be plain or number structs;
- GPUs: allocated ones in `tres_alloc_str` (`gres/gpu=4`) or, when GPUs are not accounted as TRES,
  in `gres_detail` (one entry per allocated node: `gpu:a100:2(IDX:0-1)`); requested ones in
  `tres_per_job`, `tres_per_node`, `tres_per_socket` and `tres_per_task` (times the count of
  tasks), spelled `gres:gpu:2`, `gres/gpu:2` (23.11) or `gres/gpu=2` (25.11);
- meta: the data parser is named in `meta.plugin`, or in `meta.plugins` (23.02's CLI);
- nodes: a `nodes` list (slurmrestd, `scontrol show nodes`, `sinfo` before 24.05) or 24.05+'s
  `sinfo` records that group nodes;
- renamed/nested fields: job_resources.nodes became an object (v0.0.41), partitions moved their
  state/limits into `partition`/`maximums`/`nodes` objects (v0.0.40), node `slurmd_version`
  became `version`, sacct's `state.current` turned into a list.
A reply that is not this shape at all raises MalformedReply naming what was wrong.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from backends.slurm.gres import (
    GPU_GRES,
    gpu_indices,
    gpus_in_gres,
    gpus_in_tres,
    gpus_requested,
)
from backends.slurm.hostlist import expand_hostlist
from backends.slurm.models import (
    FINISHED_STATES,
    HistoryJob,
    Job,
    JobStep,
    Node,
    Partition,
)
from backends.slurm.node_state import NODE_BASE_STATES, state_label

__all__ = ["MalformedReply", "api_version", "duration_s", "exit_code", "gpu_indices", "gpus_in_gres", "gpus_in_tres",
           "gpus_requested", "parse_history", "parse_jobs", "parse_nodes", "parse_partitions", "partitions_from_scontrol",
           "state_label"]


class MalformedReply(ValueError):
    """The reply parsed as JSON but is not what Slurm sends."""


JOB_BASE_STATES = frozenset({"PENDING", "RUNNING", "SUSPENDED", *FINISHED_STATES})


# -- scalar helpers -------------------------------------------------------------------------------
def num(value: Any) -> int | None:
    """An int from any of Slurm's number spellings; None when unset or infinite."""
    if value.__class__ is int:  # the common case first: parse_job reads a dozen numbers a job
        return value
    if isinstance(value, dict):
        if value.get("infinite") or value.get("set") is False:
            return None
        value = value.get("number")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def infinite(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("infinite"))


def timestamp(value: Any) -> datetime | None:
    seconds = num(value)
    if not seconds or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


_NOTHING = frozenset({"", "None", "(null)", "N/A", "n/a", "None assigned"})


def text(value: Any) -> str | None:
    """Strings as Slurm sends them, with its many spellings of 'nothing' made None."""
    if value is None:
        return None
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    value = str(value).strip()
    return None if value in _NOTHING else value


def states(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [s for s in re.split(r"[+,\s]+", value.upper()) if s]
    if isinstance(value, list):
        return [str(s).upper() for s in value if s]
    raise MalformedReply(f"state {value!r} is neither a string nor a list")


def split_state(value: Any, bases: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    found = states(value)
    base_set = set(bases)
    base = next((s for s in found if s in base_set), found[0] if found else "UNKNOWN")
    return base, tuple(s for s in found if s != base)


def _wait_status(raw: int) -> str | None:
    """sacct's ExitCode from a wait(2) status: WEXITSTATUS:WTERMSIG; None for Slurm's NO_VAL /
    INFINITE, which 23.02.0-.3 wrote for jobs still running."""
    if raw < 0 or raw >= 0xFFFFFFFE:
        return None
    sig = raw & 0x7F
    return f"0:{sig}" if sig and sig != 0x7F else f"{(raw >> 8) & 0xFF}:0"


def exit_code(value: Any) -> str | None:
    """'return_code:signal' as sacct prints ExitCode ('1:0', '0:15'); None while unknown."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dict) and not ({"status", "return_code", "signal"} & value.keys()):
        raw = num(value)  # v0.0.39 from 23.02.4: the wait status in a number struct
        return None if raw is None else _wait_status(raw)
    if isinstance(value, dict):
        status = set(states(value.get("status")))
        code = num(value.get("return_code"))
        signal = value.get("signal")
        if isinstance(signal, dict):
            sig = num(signal.get("id", signal.get("signal_id")))
        else:
            sig = num(signal)
        if code is None and not sig:
            # INVALID/PENDING: no exit code yet (a running job); anything else without numbers: 0.
            return None if not status or status & {"INVALID", "PENDING"} else "0:0"
        return f"{code or 0}:{sig or 0}"
    raw = num(value)
    return None if raw is None else _wait_status(raw)


def expand_output_path(pattern: str | None, job_id: int, name: str, user: str | None, work_dir: str | None,
                       array_job_id: int | None, array_task_id: int | None, first_node: str | None) -> str | None:
    """Slurm's filename patterns (%j %x %u %A %a %N %%), made absolute against the work dir."""
    if pattern is None:
        pattern = "slurm-%A_%a.out" if array_task_id is not None else "slurm-%j.out"
    repl = {"j": str(job_id), "x": name, "u": user or "", "N": first_node or "",
            "A": str(array_job_id if array_job_id else job_id),
            "a": str(array_task_id) if array_task_id is not None else "4294967294", "%": "%"}
    out = re.sub(r"%(\d*)([jxuNAa%])", lambda m: repl[m.group(2)].zfill(int(m.group(1) or 0)), pattern)
    if not out.startswith("/") and work_dir:
        out = work_dir.rstrip("/") + "/" + out
    return out


def require_list(doc: Any, key: str, what: str) -> list[Any]:
    """The `key` list of a reply; MalformedReply when Slurm reported an error or the list is missing."""
    if not isinstance(doc, dict):
        raise MalformedReply(f"{what}: expected a JSON object, got {type(doc).__name__}")
    errors = [e for e in doc.get("errors") or [] if isinstance(e, dict)]
    items = doc.get(key)
    if errors:
        first = errors[0]
        raise MalformedReply(f"{what}: Slurm reported: {first.get('description') or first.get('error')}")
    if not isinstance(items, list):
        raise MalformedReply(f"{what}: no '{key}' list in the reply (keys: {', '.join(list(doc)[:8]) or 'none'})")
    return items


def api_version(doc: Any) -> str | None:
    """The data parser version a reply was written with (v0.0.38 .. v0.0.44 and later), from
    `meta.plugin` or `meta.plugins` (an object, or a list of names or objects)."""
    meta = doc.get("meta") if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        return None
    for key in ("plugin", "plugins"):
        plugin = meta.get(key)
        entries = plugin if isinstance(plugin, list) else [plugin]
        for field in ("data_parser", "type"):
            for entry in entries:
                value = entry.get(field) if isinstance(entry, dict) else entry if field == "data_parser" else None
                m = re.search(r"v\d+\.\d+\.\d+", str(value or ""))
                if m:
                    return m.group(0)
    return None


# -- jobs -----------------------------------------------------------------------------------------
def _first_node(nodes: str | None) -> str | None:
    if not nodes:
        return None
    m = re.match(r"([^\[,]+)(?:\[(\d+))?", nodes)
    return (m.group(1) + (m.group(2) or "")) if m else None


def _job_nodes(raw: Mapping[str, Any]) -> str | None:
    nodes = raw.get("nodes")
    if isinstance(nodes, str):
        return text(nodes)
    resources = raw.get("job_resources") or {}
    inner = resources.get("nodes")
    if isinstance(inner, dict):
        return text(inner.get("list"))
    return text(inner)


_TRES_REQUESTS = ("tres_per_node", "tres_per_job", "tres_per_task", "tres_per_socket")


def _requested_gpus(raw: Mapping[str, Any], node_count: int | None) -> int:
    """GPUs a job asked for: --gpus (per job), --gres/--gpus-per-node (times the nodes),
    --gpus-per-task (times the tasks), --gpus-per-socket (times sockets per node and nodes)."""
    per_job = gpus_requested(text(raw.get("tres_per_job")))
    if per_job is not None:
        return per_job
    per_node = gpus_requested(text(raw.get("tres_per_node")))
    if per_node is not None:
        return per_node * (node_count or 1)
    per_task = gpus_requested(text(raw.get("tres_per_task")))
    if per_task is not None:
        return per_task * (num(raw.get("tasks")) or 1)
    per_socket = gpus_requested(text(raw.get("tres_per_socket")))
    sockets = num(raw.get("sockets_per_node"))
    if per_socket is not None and sockets:
        return per_socket * sockets * (node_count or 1)
    return 0


def _job_gpus(raw: Mapping[str, Any], nodes: str | None, node_count: int | None) -> tuple[int, dict[str, str]]:
    """(GPUs, node -> GPU indices): allocated GPUs from the TRES string when GPUs are accounted
    as TRES, else from gres_detail; requested GPUs for a job that holds none yet."""
    detail = raw.get("gres_detail")
    detail = [str(e) for e in detail] if isinstance(detail, list) else []
    indices: dict[str, str] = {}
    if detail and nodes:
        try:
            indices = gpu_indices(detail, expand_hostlist(nodes))
        except ValueError:
            indices = {}
    gpus = gpus_in_tres(text(raw.get("tres_alloc_str")))
    if gpus is None and any(GPU_GRES.search(e) for e in detail):
        gpus = sum(gpus_in_gres(e) for e in detail)
    if gpus is None:
        gpus = gpus_in_tres(text(raw.get("tres_req_str")))
    if gpus is None:
        gpus = _requested_gpus(raw, node_count)
    return gpus, indices


def time_used_s(state: str, start: datetime | None, end: datetime | None, now: datetime) -> int | None:
    """Seconds a job has run: end - start once finished, now - start while it runs (so it is the
    one field of a Job that changes with `now` alone), 0 while pending, None when unknown."""
    if start and end:
        return int((end - start).total_seconds())
    if start and state in ("RUNNING", "SUSPENDED"):
        return seconds_running(start, now)
    return 0 if state == "PENDING" else None


def seconds_running(start: datetime, now: datetime) -> int:
    """Whole seconds from start to now, 0 before start: max(0, int(total_seconds())) in integers,
    at half its cost (for the thousands of running jobs of a big queue every refresh)."""
    ran = now - start
    return max(0, ran.days * 86400 + ran.seconds)


def job_seen_at(job: Job, now: datetime) -> Job:
    """The job parse_job would give for the same raw record at `now`: a running job's
    time_used_s moves on, everything else stays (a queue reader reuses unchanged jobs so)."""
    start = job.start_time
    if start is None or job.end_time is not None or job.state not in ("RUNNING", "SUSPENDED"):
        return job  # time_used_s does not depend on `now` for it
    used = seconds_running(start, now)
    if used == job.time_used_s:
        return job
    # model_copy(update=...) without its bookkeeping: a third of the cost.
    values = job.__dict__.copy()
    values["time_used_s"] = used
    return constructed_job(values, job.model_fields_set)


def parse_job(raw: Mapping[str, Any], now: datetime | None = None) -> Job:
    if not isinstance(raw, dict) or "job_id" not in raw:
        raise MalformedReply(f"a job without job_id: {str(raw)[:80]}")
    now = now or datetime.now(timezone.utc)
    job_id = num(raw.get("job_id"))
    if job_id is None:
        raise MalformedReply(f"job_id {raw.get('job_id')!r} is not a number")
    state, flags = split_state(raw.get("job_state"), JOB_BASE_STATES)
    name = str(raw.get("name") or "")
    user = text(raw.get("user_name")) or text(raw.get("user"))
    nodes = _job_nodes(raw)
    node_count = num(raw.get("node_count"))
    array_job = num(raw.get("array_job_id")) or None
    array_task = num(raw.get("array_task_id"))
    array_tasks = text(raw.get("array_task_string"))
    if array_job and array_task is not None:
        display = f"{array_job}_{array_task}"
    elif array_job and array_tasks:
        display = f"{array_job}_[{array_tasks}]"
    else:
        display = str(job_id)
    submit = timestamp(raw.get("submit_time"))
    start = timestamp(raw.get("start_time")) if state != "PENDING" else None
    end = timestamp(raw.get("end_time")) if state in FINISHED_STATES else None
    used = time_used_s(state, start, end, now)
    limit = num(raw.get("time_limit"))
    gres = next((g for g in map(text, (raw.get(k) for k in _TRES_REQUESTS)) if g), None)
    gpus, indices = _job_gpus(raw, nodes, node_count)
    work_dir = text(raw.get("current_working_directory"))
    first = _first_node(nodes)
    # Slurm 24.05+ expands the patterns itself (stdout_expanded); older ones leave it to us.
    stdout = text(raw.get("stdout_expanded")) or expand_output_path(
        text(raw.get("standard_output")), job_id, name, user, work_dir, array_job, array_task, first)
    stderr_pattern = text(raw.get("standard_error"))
    stderr = text(raw.get("stderr_expanded")) or (expand_output_path(
        stderr_pattern, job_id, name, user, work_dir, array_job, array_task, first) if stderr_pattern else stdout)
    # Every value is already typed above: no pydantic validation (a third of the cost at 10k jobs),
    # and the fields in the model's order, as Job.model_construct would put them.
    return constructed_job({
        "job_id": job_id, "display_id": display, "name": name, "user": user, "account": text(raw.get("account")),
        "partition": text(raw.get("partition")), "qos": text(raw.get("qos")), "state": state, "state_flags": flags,
        "reason": text(raw.get("state_reason")), "nodes": nodes, "node_count": node_count, "cpus": num(raw.get("cpus")),
        "gpus": gpus, "gpu_indices": indices, "gres": gres, "submit_time": submit, "start_time": start, "end_time": end,
        "time_used_s": used, "time_limit_s": limit * 60 if limit is not None and limit >= 0 else None,
        "priority": num(raw.get("priority")), "priority_rank": None, "priority_rank_of": None,
        "array_job_id": array_job, "array_task_id": array_task,
        "array_tasks": array_tasks if array_task is None else None, "exit_code": exit_code(raw.get("exit_code")),
        "derived_exit_code": exit_code(raw.get("derived_exit_code")), "work_dir": work_dir, "stdout": stdout,
        "stderr": stderr, "batch_host": text(raw.get("batch_host")),
    })


# The fields parse_job sets: all but the two the source fills in later (cockpit.slurm_priority).
# One set shared by every parsed Job (a set of 31 names is 2 KB: 20 MB at 10,000 jobs): pydantic
# only reads a model's fields set, and copies it before adding to it (model_copy(update=...)).
_PARSED_JOB_FIELDS = set(Job.model_fields) - {"priority_rank", "priority_rank_of"}


def constructed_job(values: dict[str, Any], fields_set: set[str] = _PARSED_JOB_FIELDS) -> Job:
    """What Job.model_construct(**values, _fields_set=fields_set) gives when values holds every
    field in the model's order (by default the fields set are those parse_job sets), built
    without walking the model's fields for aliases and defaults: two fifths of parse_job's time.
    Jobs have no extra fields, private attributes or post-init (tests/backends/slurm/test_parse.py
    compares the two)."""
    job = Job.__new__(Job)
    object.__setattr__(job, "__dict__", values)
    object.__setattr__(job, "__pydantic_fields_set__", fields_set)
    object.__setattr__(job, "__pydantic_extra__", None)
    object.__setattr__(job, "__pydantic_private__", None)
    return job


def parse_jobs(doc: Any, now: datetime | None = None) -> list[Job]:
    now = now or datetime.now(timezone.utc)
    return [parse_job(raw, now) for raw in require_list(doc, "jobs", "jobs reply")]


# -- nodes ----------------------------------------------------------------------------------------
def parse_node(raw: Mapping[str, Any]) -> Node:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise MalformedReply(f"a node without name: {str(raw)[:80]}")
    found = states(raw.get("state"))
    flags_extra = states(raw.get("state_flags")) if raw.get("state_flags") else []
    base = next((s for s in found if s in NODE_BASE_STATES), found[0] if found else "UNKNOWN")
    flags = tuple(dict.fromkeys([s for s in found if s != base] + flags_extra))
    gres, gres_used = text(raw.get("gres")), text(raw.get("gres_used"))
    partitions = raw.get("partitions") or []
    if isinstance(partitions, str):
        partitions = [p for p in partitions.split(",") if p]
    return Node(
        name=str(raw["name"]), state=base, state_flags=flags, state_label=state_label(base, flags),
        partitions=tuple(partitions), cpus=num(raw.get("cpus")), cpus_alloc=num(raw.get("alloc_cpus")),
        memory_mb=num(raw.get("real_memory")), memory_alloc_mb=num(raw.get("alloc_memory")),
        gpus=gpus_in_gres(gres), gpus_used=gpus_in_gres(gres_used), gres=gres, gres_used=gres_used,
        reason=text(raw.get("reason")), reason_set_by=text(raw.get("reason_set_by_user")),
        address=text(raw.get("address")), version=text(raw.get("version")) or text(raw.get("slurmd_version")),
    )


def parse_nodes(doc: Any) -> list[Node]:
    if isinstance(doc, dict) and "nodes" not in doc and "sinfo" in doc:
        return nodes_from_sinfo(require_list(doc, "sinfo", "sinfo reply"))
    return [parse_node(raw) for raw in require_list(doc, "nodes", "nodes reply")]


def nodes_from_sinfo(records: list[Any]) -> list[Node]:
    """`sinfo --json` of Slurm 24.05+: records of nodes that share state, partition and
    configuration (`nodes.nodes` names them); a node in several partitions comes once per
    partition. CPU and memory use are only known per record, so they are kept for one-node
    records only. sinfo lists neither the slurmd version nor per-node addresses."""
    nodes: dict[str, Node] = {}
    for rec in records:
        if not isinstance(rec, dict) or not isinstance(rec.get("nodes"), dict):
            raise MalformedReply(f"sinfo reply: a record without 'nodes': {str(rec)[:80]}")
        names = [str(n) for n in rec["nodes"].get("nodes") or []]
        node_state = rec.get("node") if isinstance(rec.get("node"), dict) else {}
        found = states(node_state.get("state"))
        base = next((st for st in found if st in NODE_BASE_STATES), found[0] if found else "UNKNOWN")
        flags = tuple(st for st in found if st != base)
        part = rec.get("partition") if isinstance(rec.get("partition"), dict) else {}
        partition = text(part.get("name"))
        cpus = rec.get("cpus") if isinstance(rec.get("cpus"), dict) else {}
        memory = rec.get("memory") if isinstance(rec.get("memory"), dict) else {}
        gres = rec.get("gres") if isinstance(rec.get("gres"), dict) else {}
        reason = rec.get("reason") if isinstance(rec.get("reason"), dict) else {}
        one = len(names) == 1
        gres_total, gres_used = text(gres.get("total")), text(gres.get("used"))
        for name in names:
            if name in nodes:
                known = nodes[name]
                if partition and partition not in known.partitions:
                    nodes[name] = known.model_copy(update={"partitions": (*known.partitions, partition)})
                continue
            nodes[name] = Node(
                name=name, state=base, state_flags=flags, state_label=state_label(base, flags),
                partitions=(partition,) if partition else (), cpus=num(cpus.get("maximum")),
                cpus_alloc=num(cpus.get("allocated")) if one else None, memory_mb=num(memory.get("maximum")),
                memory_alloc_mb=num(memory.get("allocated")) if one else None, gpus=gpus_in_gres(gres_total),
                gpus_used=gpus_in_gres(gres_used), gres=gres_total, gres_used=gres_used,
                reason=text(reason.get("description")), reason_set_by=text(reason.get("user")))
    return list(nodes.values())


# -- partitions -----------------------------------------------------------------------------------
def _summarise(part: Partition, nodes: Iterable[Node]) -> Partition:
    gpus = used = 0
    counts: dict[str, int] = {}
    for node in nodes:
        if part.name in node.partitions:
            gpus += node.gpus
            used += node.gpus_used
            counts[node.state_label] = counts.get(node.state_label, 0) + 1
    return part.model_copy(update={"gpus": gpus, "gpus_used": used, "node_states": counts})


def parse_partition(raw: Mapping[str, Any]) -> Partition:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise MalformedReply(f"a partition without name: {str(raw)[:80]}")
    inner = raw.get("partition") if isinstance(raw.get("partition"), dict) else {}
    state_raw = inner.get("state") if inner else raw.get("state")
    state = (states(state_raw) or ["UNKNOWN"])[0]
    nodes_field = raw.get("nodes")
    if isinstance(nodes_field, dict):  # v0.0.40+
        nodes, count = text(nodes_field.get("configured")), num(nodes_field.get("total"))
    else:
        nodes, count = text(nodes_field), num(raw.get("total_nodes"))
    cpus_field = raw.get("cpus")
    cpus = num(cpus_field.get("total")) if isinstance(cpus_field, dict) else num(raw.get("total_cpus"))
    maximums = raw.get("maximums") if isinstance(raw.get("maximums"), dict) else None
    max_time_raw = maximums.get("time") if maximums else raw.get("max_time_limit")
    max_time = num(max_time_raw)
    flags = [str(f).lower() for f in (raw.get("flags") or inner.get("flags") or [])] if inner or raw.get("flags") else []
    default = "default" in flags or bool((raw.get("defaults") or {}).get("partition_default"))
    return Partition(
        name=str(raw["name"]), state=state, default=default, nodes=nodes, node_count=count, cpus=cpus,
        max_time_s=max_time * 60 if max_time is not None and max_time >= 0 and not infinite(max_time_raw) else None,
    )


def parse_partitions(doc: Any, nodes: Iterable[Node] = ()) -> list[Partition]:
    nodes = list(nodes)
    return [_summarise(parse_partition(raw), nodes) for raw in require_list(doc, "partitions", "partitions reply")]


def parse_scontrol_records(output: str) -> list[dict[str, str]]:
    """`scontrol -o show partition|node|job`: one record a line of Key=Value pairs (values
    may hold spaces only for a few keys, e.g. OS=..., Reason=...)."""
    records = []
    for line in output.splitlines():
        if not line.strip():
            continue
        record: dict[str, str] = {}
        last = None
        for token in line.split(" "):
            key, sep, value = token.partition("=")
            if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9_:/]*", key):
                record[key] = value
                last = key
            elif last and token:
                record[last] += " " + token
        records.append(record)
    return records


def partitions_from_scontrol(output: str, nodes: Iterable[Node] = ()) -> list[Partition]:
    nodes = list(nodes)
    out = []
    for rec in parse_scontrol_records(output):
        if "PartitionName" not in rec:
            raise MalformedReply(f"scontrol show partition: a line without PartitionName: {str(rec)[:80]}")
        max_time = rec.get("MaxTime", "UNLIMITED")
        out.append(_summarise(Partition(
            name=rec["PartitionName"], state=rec.get("State", "UNKNOWN").upper(), default=rec.get("Default") == "YES",
            nodes=text(rec.get("Nodes")), node_count=num(rec.get("TotalNodes")), cpus=num(rec.get("TotalCPUs")),
            max_time_s=duration_s(max_time),
        ), nodes))
    return out


def duration_s(value: str | None) -> int | None:
    """Slurm durations: [days-]hours:minutes:seconds, minutes, UNLIMITED/INFINITE/NONE -> None."""
    if not value or value.upper() in ("UNLIMITED", "INFINITE", "NONE", "N/A"):
        return None
    days = 0
    if "-" in value:
        d, _, value = value.partition("-")
        days = int(d)
    parts = [int(p) for p in value.split(":")]
    if len(parts) == 1:
        seconds = parts[0] * 60
    elif len(parts) == 2:
        seconds = parts[0] * 60 + parts[1]
    else:
        seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
    return days * 86400 + seconds


# -- accounting -----------------------------------------------------------------------------------
def _tres_gpus(entries: Any) -> int:
    if isinstance(entries, str):
        return gpus_in_tres(entries) or 0
    total = 0
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("type") == "gres" and str(entry.get("name") or "").split(":")[0] == "gpu":
            if ":" not in str(entry.get("name")):  # typed entries (gpu:a100) repeat the total
                total += num(entry.get("count")) or 0
    return total


def tres_counts(entries: Any) -> dict[str, int]:
    """A TRES list of sacct's JSON ([{"type": "gres", "name": "gpumem", "count": 5}, ...]) as
    {"gres/gpumem": 5}; counts that are unset or negative (energy without a plugin says -2) are left out."""
    counts: dict[str, int] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not text(entry.get("type")):
            continue
        count = num(entry.get("count"))
        if count is None or count < 0:
            continue
        name = text(entry.get("name"))
        counts[f"{entry['type']}/{name}" if name else str(entry["type"])] = count
    return counts


def cpu_seconds(value: Any) -> float | None:
    """A `time.total` / `time.user` record ({"seconds": 3, "microseconds": 500}) in seconds."""
    if isinstance(value, dict):
        seconds, micro = num(value.get("seconds")), num(value.get("microseconds"))
        if seconds is None and micro is None:
            return None
        return (seconds or 0) + (micro or 0) / 1_000_000
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_step(raw: Mapping[str, Any], job_id: int) -> JobStep:
    """One entry of an accounting record's `steps`: batch, extern, interactive or numbered."""
    if not isinstance(raw, dict):
        raise MalformedReply(f"job {job_id}: a step that is not an object: {str(raw)[:80]}")
    ident = raw.get("step") if isinstance(raw.get("step"), dict) else {}
    sid = ident.get("id")
    if isinstance(sid, dict):  # a step id record: {"job_id", "step_id"}
        sid = f"{num(sid.get('job_id')) or job_id}.{text(sid.get('step_id'))}" if text(sid.get("step_id")) else None
    step = text(sid)
    if step is None:
        raise MalformedReply(f"job {job_id}: a step without step.id: {str(raw)[:80]}")
    step_id = step if "." in step else f"{job_id}.{step}"  # v0.0.38 says "batch", later "42.batch"
    state = states(raw.get("state"))
    nodes = raw.get("nodes")
    times_raw = raw.get("time")
    times: Mapping[str, Any] = times_raw if isinstance(times_raw, dict) else {}
    tasks = raw.get("tasks")
    tres_raw = raw.get("tres")
    tres: Mapping[str, Any] = tres_raw if isinstance(tres_raw, dict) else {}
    usage_raw = tres.get("requested")  # TRESUsageIn*: max, min, average, total
    usage: Mapping[str, Any] = usage_raw if isinstance(usage_raw, dict) else {}
    return JobStep(
        step_id=step_id, name=text(ident.get("name")), exit_code=exit_code(raw.get("exit_code")),
        state=split_state(state, JOB_BASE_STATES)[0] if state else None,
        nodes=text(nodes.get("range")) if isinstance(nodes, dict) else text(nodes),
        tasks=num(tasks.get("count")) if isinstance(tasks, dict) else num(tasks),
        start_time=timestamp(times.get("start")), end_time=timestamp(times.get("end")),
        elapsed_s=num(times.get("elapsed")), cpus=tres_counts(tres.get("allocated")).get("cpu"),
        cpu_time_s=cpu_seconds(times.get("total")),
        usage_max=tres_counts(usage.get("max")), usage_total=tres_counts(usage.get("total")),
    )


def parse_history_job(raw: Mapping[str, Any]) -> HistoryJob:
    if not isinstance(raw, dict) or "job_id" not in raw:
        raise MalformedReply(f"an accounting record without job_id: {str(raw)[:80]}")
    job_id = num(raw.get("job_id"))
    if job_id is None:
        raise MalformedReply(f"accounting job_id {raw.get('job_id')!r} is not a number")
    state_raw = raw.get("state")
    current = state_raw.get("current") if isinstance(state_raw, dict) else state_raw
    state, _ = split_state(current, JOB_BASE_STATES)
    array = raw.get("array") or {}
    array_job = num(array.get("job_id")) or None
    array_task = num(array.get("task_id"))
    times = raw.get("time") or {}
    tres = raw.get("tres") or {}
    allocated = tres_counts(tres.get("allocated"))
    steps = raw.get("steps") or []
    if not isinstance(steps, list):
        raise MalformedReply(f"job {job_id}: 'steps' is not a list")
    return HistoryJob(
        job_id=job_id, display_id=f"{array_job}_{array_task}" if array_job and array_task is not None else str(job_id),
        name=str(raw.get("name") or ""), user=text(raw.get("user")), account=text(raw.get("account")),
        partition=text(raw.get("partition")), state=state, exit_code=exit_code(raw.get("exit_code")),
        derived_exit_code=exit_code(raw.get("derived_exit_code")),
        nodes=text(raw.get("nodes")), gpus=_tres_gpus(tres.get("allocated")),
        node_count=allocated.get("node"), cpus=allocated.get("cpu"), memory_mb=allocated.get("mem"),
        memory_requested_mb=tres_counts(tres.get("requested")).get("mem"),
        cpu_time_s=cpu_seconds(times.get("total")),
        steps=tuple(parse_step(step, job_id) for step in steps),
        submit_time=timestamp(times.get("submission")), start_time=timestamp(times.get("start")),
        end_time=timestamp(times.get("end")), elapsed_s=num(times.get("elapsed")),
    )


def parse_history(doc: Any) -> list[HistoryJob]:
    return [parse_history_job(raw) for raw in require_list(doc, "jobs", "accounting reply")]
