"""Read a jobs reply (`squeue --json`, slurmrestd `/slurm/v0.0.4x/jobs`) into Job items fast, for
queues of 10,000 jobs refreshed every few seconds (issue 19).

Three steps, each cheaper than decoding the whole reply into Python objects:
1. `decode_jobs_reply` decodes only the envelope (`meta`, `errors`, `warnings`) and leaves every
   job as its raw JSON bytes (msgspec.Raw): one pass over the text that builds no job objects.
2. `JobsReader` keeps the previous reply's raw jobs and their ids. Slurm lists a queue in the
   same order from one reply to the next, so each job is compared with the one in its place
   last time (one memcmp); a job whose bytes differ only in `last_sched_evaluation` (which
   slurmctld rewrites in every pending job at every scheduling pass, never read by the parser)
   is recognised by `rescheduled_only`: one regular expression search for that value, and the
   bytes before and after it compared with the previous record's. Such jobs are reused
   without being decoded (only a running job's time_used_s moves on, through
   parse.job_seen_at), so a refresh where 5% of the queue changed decodes 5% of it.
3. A job that differs otherwise is decoded with `JobFields`, a schema of only the fields
   parse.parse_job reads: msgspec skips the rest (job_resources' per-core allocation, the
   dozens of fields the cockpit does not show) without building them. The job of the same id
   last time (in the same place, or found by id when jobs moved: a purged job shifts every
   later one) is reused when its fields are the same; otherwise the plain dict of fields is
   parsed by the one parser every other path uses (parse.parse_job).

A job whose fields come in a shape the schema does not expect is decoded whole (orjson) and
parsed the same way, so an unknown Slurm release costs time, never a job.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypedDict, Union

import msgspec
import orjson

from backends.slurm.models import Job
from backends.slurm.parse import MalformedReply, job_seen_at, num, parse_job, require_list


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
# the first brace, comma or space, so a match never reaches past that value into another field;
# a value of another shape is matched in part or not at all (then the fields comparison applies).
# The key's quotes cannot belong to a string value: a quote inside a JSON string is escaped,
# and `"last_sched_evaluation"` ends in an unescaped one. (A look-behind for a backslash before
# the opening quote would make the search eight times slower, for keys no Slurm sends.)
_SCHEDULING_KEY = b'"last_sched_evaluation"'
_SCHEDULING = re.compile(rb'"last_sched_evaluation"\s*:\s*(?:\{[^{}]*\}|[^,{}\[\]\s]+)')

_REPLY = msgspec.json.Decoder(JobsReply)
_JOB = msgspec.json.Decoder(JobFields)


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


def job_fields(raw: bytes | msgspec.Raw) -> Any:
    """The fields parse_job reads from one raw job record; the whole record when its shape is
    not the one JobFields expects (then maybe not even an object: parse_job says so)."""
    try:
        return _JOB.decode(raw)
    except msgspec.ValidationError:
        return orjson.loads(memoryview(raw))


def rescheduled_only(raw: bytes | msgspec.Raw, previous: bytes | msgspec.Raw) -> bool:
    """Whether two raw job records are the same bytes but for the value of their
    `last_sched_evaluation`: the first such key in `raw` and a value of a shape the pattern
    takes, the same at the same place in `previous`, and the bytes before and after them
    equal. Neither record is hashed or masked."""
    mine = bytes(raw)
    start = mine.find(_SCHEDULING_KEY)  # a plain search is twice as fast as the pattern's
    if start < 0:
        return False
    found, other = _SCHEDULING.match(mine, start), _SCHEDULING.match(previous, start)
    if found is None or other is None:
        return False
    end, after = found.end(), other.end()
    if len(mine) - end != len(previous) - after:
        return False
    theirs = memoryview(previous)
    # bytes.startswith compares with memcmp, also against a memoryview (memoryview == memoryview
    # compares item by item: ten times slower on a 3 KB record).
    return mine.startswith(theirs[:start]) and mine.startswith(theirs[after:], end)


class JobsReader:
    """Jobs replies -> Job items, reusing the items of jobs that did not change since the
    previous reply. One per source: it remembers the previous reply's raw jobs (msgspec.Raw,
    views of that reply's bytes) and their job ids, and, in `read`, their items."""

    def __init__(self) -> None:
        self._raws: list[Any] = []  # the previous reply's raw jobs, in order
        self._ids: list[int] = []  # and their job ids
        self._jobs: list[Job] = []
        self.reused = 0  # jobs reused in the last read (for benchmarks and tests)

    def changes(self, reply: Any, now: datetime) -> list[Job | int]:
        """One entry per job of the reply: a new Job, or the position in the previous reply of
        the same job unchanged for parse_job (`reuse` turns these into items).

        Slurm lists a queue in the same order from one reply to the next, so a job is first
        compared with the one at its place last time (shifted by as many places as the jobs
        before it moved): the same bytes, or the same bytes but for `last_sched_evaluation`,
        and it is known without being decoded. Otherwise its fields are decoded, the job of the
        same id found (at its place, else by id: then the jobs after it are compared with the
        ones after that), and reused when it is the same bytes or the same fields."""
        raws = require_list(reply, "jobs", "jobs reply")
        previous, previous_ids = self._raws, self._ids
        count = len(previous)
        places: dict[int, int] | None = None  # job id -> position last time, built when a job moved
        shift = 0  # position last time - position now, of the last job found by its id
        ids: list[int] = []
        entries: list[Job | int] = []
        reused = 0
        for position, raw in enumerate(raws):
            guess = position + shift
            if guess < count and (raw == previous[guess] or rescheduled_only(raw, previous[guess])):
                ids.append(previous_ids[guess])
                entries.append(guess)
                reused += 1
                continue
            fields = job_fields(raw)
            job_id = num(fields.get("job_id")) if isinstance(fields, dict) else None
            before: int | None = None
            if job_id is None:
                pass  # parse_job says what is wrong with it
            elif guess < count and previous_ids[guess] == job_id:  # the same job, changed in its place
                before = guess if fields == job_fields(previous[guess]) else None
            else:  # a job that moved, or a new one
                if places is None:
                    places = {known: place for place, known in enumerate(previous_ids)}
                before = places.get(job_id)
                if before is not None:
                    shift = before - position
                    earlier = previous[before]
                    if not (raw == earlier or rescheduled_only(raw, earlier) or fields == job_fields(earlier)):
                        before = None
            if before is not None:
                ids.append(previous_ids[before])
                entries.append(before)
                reused += 1
                continue
            job = parse_job(fields, now)
            ids.append(job.job_id)
            entries.append(job)
        # Only once every job parsed: a bad reply leaves the memory of the last good one.
        self._raws, self._ids = raws, ids
        self.reused = reused
        return entries

    def read(self, reply: Any, now: datetime) -> list[Job]:
        self._jobs = reuse(self.changes(reply, now), self._jobs, now)
        return self._jobs


def reuse(entries: list[Job | int], previous: list[Job], now: datetime) -> list[Job]:
    """The items of JobsReader.changes: positions taken from the previous reply's items, seen at
    `now` (a running job has run longer)."""
    return [job_seen_at(previous[e], now) if isinstance(e, int) else e for e in entries]
