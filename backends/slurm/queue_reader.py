"""Read a jobs reply (`squeue --json`, slurmrestd `/slurm/v0.0.4x/jobs`) into Job items fast, for
queues of 10,000 jobs refreshed every few seconds (issue 19).

Three steps, each cheaper than decoding the whole reply into Python objects:
1. `decode_jobs_reply` decodes only the envelope (`meta`, `errors`, `warnings`) and leaves every
   job as its raw JSON bytes (msgspec.Raw): one pass over the text that builds no job objects.
2. `JobsReader` keeps the jobs it built last time with their raw bytes: a job whose JSON did
   not change since the last reply (compared first with the job in the same place last time,
   then by a lookup of its masked bytes, below) is reused (only a running job's time_used_s moves on,
   through parse.job_seen_at), so a refresh where 5% of the queue changed parses 5% of it. A
   job whose JSON changed only where the parser does not look (a pending job's
   `last_sched_evaluation`, rewritten at every scheduling pass) is reused too: the raw bytes
   are compared with that one value masked out (`scheduling_masked`, a regular expression
   over the bytes, about as cheap as copying them), so the thousands of pending jobs of a big
   queue are not decoded at every refresh. Any other change the parser does not read is caught
   by comparing the fields of step 3.
3. A new or changed job is decoded with `JobFields`, a schema of only the fields
   parse.parse_job reads: msgspec skips the rest (job_resources' per-core allocation, the
   dozens of fields the cockpit does not show) without building them. The result is a plain
   dict, parsed by the one parser every other path uses (parse.parse_job).

A job whose fields come in a shape the schema does not expect is decoded whole (orjson) and
parsed the same way, so an unknown Slurm release costs time, never a job.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping, TypedDict, Union

import msgspec
import orjson

from backends.slurm.models import Job
from backends.slurm.parse import MalformedReply, job_seen_at, parse_job, require_list


class JobResourceNodes(TypedDict, total=False):
    list: Any  # v0.0.41+: {"count", "select_type", "list", "whole", "allocation": [...]}


class JobResources(TypedDict, total=False):
    nodes: Union[str, JobResourceNodes, None]  # v0.0.38-v0.0.40: the node list as a string


class JobFields(TypedDict, total=False):
    """Every field of a job record parse.parse_job reads (tests/backends/slurm/test_queue_reader.py
    checks this against what it really reads on every recorded reply). Values stay `Any`: each
    Slurm release spells them differently, and parse.py knows every spelling."""

    job_id: Any
    job_state: Any
    name: Any
    user_name: Any
    user: Any
    account: Any
    partition: Any
    qos: Any
    state_reason: Any
    nodes: Any
    node_count: Any
    cpus: Any
    tasks: Any
    sockets_per_node: Any
    priority: Any
    batch_host: Any
    array_job_id: Any
    array_task_id: Any
    array_task_string: Any
    submit_time: Any
    start_time: Any
    end_time: Any
    time_limit: Any
    tres_per_node: Any
    tres_per_job: Any
    tres_per_task: Any
    tres_per_socket: Any
    tres_alloc_str: Any
    tres_req_str: Any
    gres_detail: Any
    exit_code: Any
    derived_exit_code: Any
    current_working_directory: Any
    standard_output: Any
    standard_error: Any
    stdout_expanded: Any
    stderr_expanded: Any
    job_resources: Union[JobResources, None]


class JobsReply(TypedDict, total=False):
    meta: Any
    errors: Any
    warnings: Any
    jobs: list[msgspec.Raw]


# The value of a job's `last_sched_evaluation`: a plain number (v0.0.38-v0.0.40) or a number struct
# ({"set", "infinite", "number"}, v0.0.41+), never read by parse_job. The value's pattern stops at
# the first brace, comma or space, so a mask never reaches past that value into another field;
# a value of another shape is masked in part or not at all (then the fields comparison applies).
# The key's quotes cannot belong to a string value: a quote inside a JSON string is escaped,
# and `"last_sched_evaluation"` ends in an unescaped one. (A look-behind for a backslash before
# the opening quote would make the search eight times slower, for keys no Slurm sends.)
_SCHEDULING = re.compile(rb'"last_sched_evaluation"\s*:\s*(?:\{[^{}]*\}|[^,{}\[\]\s]+)')
_MASK = b'"last_sched_evaluation":0'

_REPLY = msgspec.json.Decoder(JobsReply)
_JOB = msgspec.json.Decoder(JobFields)
_KEY = msgspec.json.Encoder().encode  # a job's fields, as compact bytes to compare


def decode_jobs_reply(data: bytes | str, what: str) -> JobsReply:
    """The reply as a dict whose `jobs` are raw JSON (msgspec.Raw); MalformedReply naming `what`
    when it is not JSON or not an object with a `jobs` list."""
    try:
        return _REPLY.decode(data)
    except msgspec.ValidationError as exc:
        raise MalformedReply(f"{what} is not a jobs reply: {exc}") from None
    except msgspec.DecodeError as exc:
        shown = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        snippet = shown.strip()[:60].replace("\n", " ")
        raise MalformedReply(f"{what} returned malformed JSON ({exc}): {snippet!r}") from None


def job_fields(raw: bytes | msgspec.Raw) -> Mapping[str, Any]:
    """The fields parse_job reads from one raw job record; the whole record when its shape is
    not the one JobFields expects."""
    try:
        return _JOB.decode(raw)
    except msgspec.ValidationError:
        return orjson.loads(memoryview(raw))


def scheduling_masked(raw: bytes | msgspec.Raw) -> bytes:
    """A job's raw JSON (bytes, or msgspec.Raw without copying it first) with its
    `last_sched_evaluation` value replaced by 0: equal for two replies of a job that differ
    only in when slurmctld last evaluated it."""
    return bytes(_SCHEDULING.sub(_MASK, memoryview(raw), 1))


class JobsReader:
    """Jobs replies -> Job items, reusing the items of jobs that did not change since the
    previous reply: first by their raw JSON with `last_sched_evaluation` masked (Slurm rewrites
    a pending job's at every scheduling pass: its JSON changes, its item does not); then, for a
    job whose JSON changed elsewhere, by the fields parse_job reads. One per source: it remembers
    the previous reply's raw jobs and their masked copies (about twice the size of its job
    records) and, in `read`, their items."""

    def __init__(self) -> None:
        # Of the previous reply: its raw jobs in order, and each one's (masked bytes, fields' key);
        # masked raw job -> (its position, its fields' key); fields' key -> position.
        self._raws: list[Any] = []
        self._seen: list[tuple[bytes, bytes]] = []
        self._index: dict[bytes, tuple[int, bytes]] = {}
        self._by_fields: dict[bytes, int] = {}
        self._jobs: list[Job] = []
        self.reused = 0  # jobs reused in the last read (for benchmarks and tests)

    def changes(self, reply: Any, now: datetime) -> list[Job | int]:
        """One entry per job of the reply: a new Job, or the position in the previous reply of
        a job with the same raw JSON (but for `last_sched_evaluation`) or the same fields
        (`reuse` turns these into items). A job whose raw JSON is the one at the same position
        last time (Slurm lists a queue in the same order from one reply to the next) is known
        for the cost of comparing the bytes, without masking or copying them."""
        raws = require_list(reply, "jobs", "jobs reply")
        previous_raws, previous_seen = self._raws, self._seen
        same_place = min(len(raws), len(previous_raws))
        index, by_fields = self._index, self._by_fields
        current: dict[bytes, tuple[int, bytes]] = {}
        current_fields: dict[bytes, int] = {}
        seen: list[tuple[bytes, bytes]] = []
        entries: list[Job | int] = []
        for position, raw in enumerate(raws):
            if position < same_place and raw == previous_raws[position]:
                masked, key = previous_seen[position]
                entries.append(position)
            else:
                masked = scheduling_masked(raw)
                known = index.get(masked)
                if known is not None:
                    before, key = known
                    entries.append(before)
                else:
                    fields = job_fields(raw)
                    key = _KEY(fields)
                    found = by_fields.get(key)
                    entries.append(parse_job(fields, now) if found is None else found)
            current[masked] = (position, key)
            current_fields[key] = position
            seen.append((masked, key))
        # Only once every job parsed: a bad reply leaves the memory of the last good one.
        self._raws, self._seen = raws, seen
        self._index, self._by_fields = current, current_fields
        self.reused = sum(isinstance(e, int) for e in entries)
        return entries

    def read(self, reply: Any, now: datetime) -> list[Job]:
        self._jobs = reuse(self.changes(reply, now), self._jobs, now)
        return self._jobs


def reuse(entries: list[Job | int], previous: list[Job], now: datetime) -> list[Job]:
    """The items of JobsReader.changes: positions taken from the previous reply's items, seen at
    `now` (a running job has run longer)."""
    return [job_seen_at(previous[e], now) if isinstance(e, int) else e for e in entries]
