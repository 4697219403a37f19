"""The fast queue path (backends/slurm/queue_reader.py) against the one parser, on every recorded
jobs reply: squeue/scontrol `--json` and slurmrestd from 22.05, 24.11 and 26.05 (recorded here)
and the published replies under tests/fixtures/slurm/v0.0.*."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from backends.slurm import parse, queue_reader
from backends.slurm.queue_reader import JobFields, JobsReader, decode_jobs_reply, job_fields, rescheduled_only

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slurm"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def jobs_replies() -> list[Path]:
    """Every fixture that is a queue reply: a `jobs` list of records with a `job_state`."""
    found = []
    for path in sorted(FIXTURES.rglob("*.json")):
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and isinstance(doc.get("jobs"), list) and doc["jobs"] \
                and all(isinstance(j, dict) and "job_state" in j for j in doc["jobs"]):
            found.append(path)
    return found


REPLIES = jobs_replies()


def test_every_recorded_release_is_among_the_replies():
    names = {p.relative_to(FIXTURES).as_posix() for p in REPLIES}
    for release in ("22.05", "24.11", "26.05"):
        assert f"recorded/{release}/squeue_all.json" in names
    assert "recorded/26.05/rest_slurm_v0.0.45_jobs.json" in names
    assert len(REPLIES) >= 50


@pytest.mark.parametrize("path", REPLIES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_reader_gives_what_parse_jobs_gives_first_and_when_reusing(path: Path):
    data = path.read_bytes()
    reader = JobsReader()
    first = reader.read(decode_jobs_reply(data, path.name), NOW)
    assert first == parse.parse_jobs(json.loads(data), NOW)
    assert reader.reused == 0
    later = NOW + timedelta(minutes=7)
    again = reader.read(decode_jobs_reply(data, path.name), later)
    assert again == parse.parse_jobs(json.loads(data), later)
    assert reader.reused == len(first)


class Reads(dict):
    """A job record that notes every key parse_job looks up, nested ones as 'a.b'."""

    def __init__(self, data: dict, seen: set[str], prefix: str = "") -> None:
        super().__init__(data)
        self.seen, self.prefix = seen, prefix

    def _wrap(self, key: str, value: Any) -> Any:
        self.seen.add(self.prefix + key)
        return Reads(value, self.seen, f"{self.prefix}{key}.") if isinstance(value, dict) else value

    def get(self, key, default=None):
        return self._wrap(key, super().get(key, default))

    def __getitem__(self, key):
        return self._wrap(key, super().__getitem__(key))

    def __contains__(self, key):
        self.seen.add(self.prefix + key)
        return super().__contains__(key)


def test_the_schema_holds_every_field_parse_job_reads():
    """If parse_job starts reading a new field, JobFields must name it, or the fast path would
    silently see it missing."""
    seen: set[str] = set()
    for path in REPLIES:
        for raw in json.loads(path.read_text())["jobs"]:
            parse.parse_job(Reads(raw, seen), NOW)
    top = {key for key in seen if "." not in key}
    assert top <= set(JobFields.__annotations__), top - set(JobFields.__annotations__)
    nested = {key for key in seen if "." in key and not key.startswith(("exit_code.", "derived_exit_code."))}
    # Nested reads may only be the ones the typed job_resources schema keeps; number structs
    # ({"set", "infinite", "number"}) and exit code records are kept whole (typed Any).
    allowed = {"job_resources.nodes", "job_resources.nodes.list"}
    numbers = {k for k in nested if k.rsplit(".", 1)[-1] in ("set", "infinite", "number")}
    assert nested - numbers <= allowed, nested - numbers - allowed


def test_a_changed_job_is_parsed_again_and_the_rest_reused():
    doc = json.loads((FIXTURES / "recorded" / "24.11" / "squeue_all.json").read_text())
    reader = JobsReader()
    before = reader.read(decode_jobs_reply(json.dumps(doc).encode(), "squeue"), NOW)
    doc["jobs"][0]["job_state"] = ["CANCELLED"]
    after = reader.read(decode_jobs_reply(json.dumps(doc).encode(), "squeue"), NOW)
    assert reader.reused == len(before) - 1
    assert after[0].state == "CANCELLED" and before[0].state != "CANCELLED"
    assert after[1:] == before[1:] and all(a is b for a, b in zip(after[1:], before[1:]) if a.state != "RUNNING")
    assert after == parse.parse_jobs(doc, NOW)


def test_a_running_job_reused_later_has_run_longer():
    doc = json.loads((FIXTURES / "recorded" / "24.11" / "squeue_all.json").read_text())
    data = json.dumps(doc).encode()
    now = datetime.fromtimestamp(max(parse.num(j["start_time"]) or 0 for j in doc["jobs"]), tz=timezone.utc)
    now += timedelta(hours=1)  # after every recorded start
    reader = JobsReader()
    first = {j.job_id: j for j in reader.read(decode_jobs_reply(data, "squeue"), now)}
    later = {j.job_id: j for j in reader.read(decode_jobs_reply(data, "squeue"), now + timedelta(seconds=90))}
    running = [i for i, j in first.items() if j.state == "RUNNING"]
    assert running, "the recording holds a running job"
    for job_id in running:
        assert first[job_id].time_used_s >= 3600
        assert later[job_id].time_used_s == first[job_id].time_used_s + 90


def test_a_job_in_a_shape_the_schema_does_not_expect_is_decoded_whole():
    raw = json.loads((FIXTURES / "recorded" / "22.05" / "squeue_all.json").read_text())["jobs"][0]
    raw["job_resources"] = ["not", "an", "object"]  # no Slurm sends this; the parser must still get the job
    fields = job_fields(json.dumps(raw).encode())
    assert fields == raw
    assert parse.parse_job(fields, NOW) == parse.parse_job(raw, NOW)


def test_the_schema_drops_what_the_parser_does_not_read():
    raw = json.loads((FIXTURES / "recorded" / "26.05" / "squeue_all.json").read_text())["jobs"][0]
    fields = job_fields(json.dumps(raw).encode())
    assert set(fields) < set(raw) and "job_id" in fields
    assert set(fields.get("job_resources") or {}) <= {"nodes"}


@pytest.mark.parametrize("data, message", [
    (b'{"jobs": [', "squeue --json returned malformed JSON"),
    (b"[1, 2]", "squeue --json is not a jobs reply: Expected `object`, got `array`"),
    (b'{"jobs": "none"}', "squeue --json is not a jobs reply: Expected `array`, got `str` - at `$.jobs`"),
])
def test_bad_replies_say_what_and_where(data: bytes, message: str):
    with pytest.raises(parse.MalformedReply, match=message.replace("[", r"\[").replace("$", r"\$")):
        decode_jobs_reply(data, "squeue --json")


def test_errors_in_the_reply_and_a_missing_jobs_list_are_malformed():
    reader = JobsReader()
    with pytest.raises(parse.MalformedReply, match="Slurm reported: Unable to contact slurm controller"):
        reader.read(decode_jobs_reply(b'{"errors": [{"description": "Unable to contact slurm controller"}], '
                                      b'"jobs": []}', "squeue"), NOW)
    with pytest.raises(parse.MalformedReply, match="no 'jobs' list"):
        reader.read(decode_jobs_reply(b'{"meta": {}}', "squeue"), NOW)
    with pytest.raises(parse.MalformedReply, match="a job without job_id"):
        reader.read(decode_jobs_reply(b'{"jobs": [{"name": "x"}]}', "squeue"), NOW)


def test_a_real_refresh_where_slurm_rewrote_only_last_sched_evaluation_reuses_every_job():
    """Two `squeue --json` of a real 22.05 lab 31 s apart (tests/fixtures/slurm/refresh/22.05)."""
    folder = FIXTURES / "refresh" / "22.05"
    first, later = (folder / "squeue_all.first.json").read_bytes(), (folder / "squeue_all.31s_later.json").read_bytes()
    pending_changed = [a for a, b in zip(json.loads(first)["jobs"], json.loads(later)["jobs"]) if a != b]
    assert pending_changed and all(j["job_state"] == "PENDING" for j in pending_changed)
    reader = JobsReader()
    reader.read(decode_jobs_reply(first, "squeue"), NOW)
    jobs = reader.read(decode_jobs_reply(later, "squeue"), NOW + timedelta(seconds=31))
    assert reader.reused == len(jobs) == 41
    assert jobs == parse.parse_jobs(json.loads(later), NOW + timedelta(seconds=31))


@pytest.mark.parametrize("previous, raw", [
    (b'{"job_id": 7, "last_sched_evaluation": 1795977662, "licenses": ""}',
     b'{"job_id": 7, "last_sched_evaluation": 1795977664, "licenses": ""}'),
    (b'{"last_sched_evaluation": {\n  "set": true,\n  "infinite": false,\n  "number": 1795966221\n},\n"name": "a"}',
     b'{"last_sched_evaluation": {\n  "set": true,\n  "infinite": false,\n  "number": 1795966223\n},\n"name": "a"}'),
    (b'{"last_sched_evaluation":null}', b'{"last_sched_evaluation":1795977662}'),
    (b'{"last_sched_evaluation": 999, "job_id": 7}', b'{"last_sched_evaluation": 1000, "job_id": 7}'),
])
def test_records_that_differ_only_in_last_sched_evaluation_are_rescheduled_only(previous: bytes, raw: bytes):
    assert rescheduled_only(raw, previous)
    assert rescheduled_only(raw, raw)


@pytest.mark.parametrize("previous, raw", [
    # A change before or after the value, beside a rescheduling.
    (b'{"priority": 1, "last_sched_evaluation": 5, "job_id": 7}', b'{"priority": 2, "last_sched_evaluation": 6, "job_id": 7}'),
    (b'{"last_sched_evaluation": 5, "job_id": 7}', b'{"last_sched_evaluation": 6, "job_id": 8}'),
    (b'{"last_sched_evaluation": 5, "job_id": 7}', b'{"last_sched_evaluation": 5,"job_id": 7}'),
    # The key elsewhere in the record: the bytes before it differ.
    (b'{"a": 1, "last_sched_evaluation": 5}', b'{"a": 12, "last_sched_evaluation": 5}'),
    (b'{"job_id": 7, "name": "no evaluation"}', b'{"job_id": 7, "name": "no evaluation!"}'),
    (b'{"job_id": 7}', b'{"job_id": 7}'),  # no key at all: callers compare the bytes first
    # A string that only mentions the key is not a key: its quote is escaped.
    (b'{"name": "x\\"last_sched_evaluation\\": 5", "job_id": 7}', b'{"name": "x\\"last_sched_evaluation\\": 6", "job_id": 7}'),
    # A value of a shape no Slurm sends is never matched past its first brace.
    (b'{"last_sched_evaluation": {"a": {"b": 1}}, "job_id": 7}', b'{"last_sched_evaluation": {"a": {"b": 2}}, "job_id": 7}'),
    # A flat object's match stops at its brace: what follows it still counts.
    (b'{"last_sched_evaluation": {"number": 5}, "job_id": 7}', b'{"last_sched_evaluation": {"number": 5}, "job_id": 8}'),
])
def test_records_that_differ_elsewhere_are_not_rescheduled_only(previous: bytes, raw: bytes):
    assert not rescheduled_only(raw, previous)
    assert not rescheduled_only(previous, raw)


def test_the_rescheduled_field_is_one_the_parser_never_reads():
    assert "last_sched_evaluation" not in JobFields.__annotations__


def test_a_rescheduled_pending_job_is_reused_without_being_decoded(monkeypatch):
    """The real 22.05 refresh: the 37 pending jobs differ only in last_sched_evaluation, so the
    reader must match them on their masked bytes, without decoding any job."""
    folder = FIXTURES / "refresh" / "22.05"
    first, later = (folder / "squeue_all.first.json").read_bytes(), (folder / "squeue_all.31s_later.json").read_bytes()
    reader = JobsReader()
    reader.read(decode_jobs_reply(first, "squeue"), NOW)
    decoded: list[bytes] = []
    real = queue_reader.job_fields
    monkeypatch.setattr(queue_reader, "job_fields", lambda raw: decoded.append(raw) or real(raw))
    jobs = reader.read(decode_jobs_reply(later, "squeue"), NOW)
    assert decoded == [] and reader.reused == len(jobs) == 41


def test_a_change_beside_last_sched_evaluation_is_still_seen():
    doc = json.loads((FIXTURES / "refresh" / "22.05" / "squeue_all.first.json").read_text())
    reader = JobsReader()
    reader.read(decode_jobs_reply(json.dumps(doc).encode(), "squeue"), NOW)
    pending = next(j for j in doc["jobs"] if j["job_state"] == "PENDING")
    pending["last_sched_evaluation"] += 2
    pending["priority"] += 1
    jobs = reader.read(decode_jobs_reply(json.dumps(doc).encode(), "squeue"), NOW)
    assert reader.reused == len(jobs) - 1
    assert jobs == parse.parse_jobs(doc, NOW)


def encoded(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def counting_decodes(monkeypatch) -> list[bytes]:
    """The raw jobs queue_reader decodes from now on, in order."""
    decoded: list[bytes] = []
    real = queue_reader.job_fields
    monkeypatch.setattr(queue_reader, "job_fields", lambda raw: decoded.append(bytes(raw)) or real(raw))
    return decoded


def test_a_job_unchanged_in_its_place_is_reused_without_being_decoded(monkeypatch):
    doc = json.loads((FIXTURES / "recorded" / "24.11" / "squeue_all.json").read_text())
    reader = JobsReader()
    reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    decoded = counting_decodes(monkeypatch)
    jobs = reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    assert decoded == [] and reader.reused == len(jobs) == len(doc["jobs"])


def test_a_queue_shifted_by_a_removed_job_is_matched_with_one_decode(monkeypatch):
    """slurmctld purges a finished job: every later job moves up one place."""
    doc = json.loads((FIXTURES / "recorded" / "24.11" / "squeue_all.json").read_text())
    reader = JobsReader()
    reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    del doc["jobs"][0]
    decoded = counting_decodes(monkeypatch)
    jobs = reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    assert reader.reused == len(jobs) == len(doc["jobs"]) > 1
    assert [json.loads(d)["job_id"] for d in decoded] == [doc["jobs"][0]["job_id"]]
    assert jobs == parse.parse_jobs(doc, NOW)


def test_a_job_inserted_midway_is_parsed_and_the_jobs_after_it_found_again(monkeypatch):
    doc = json.loads((FIXTURES / "recorded" / "24.11" / "squeue_all.json").read_text())
    reader = JobsReader()
    reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    new = json.loads(json.dumps(doc["jobs"][3]))
    new["job_id"] = 4242
    doc["jobs"].insert(4, new)
    decoded = counting_decodes(monkeypatch)
    jobs = reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    assert reader.reused == len(jobs) - 1 and jobs[4].job_id == 4242
    assert len(decoded) == 2  # the new job, and the one after it (found by its id, one place down)
    assert jobs == parse.parse_jobs(doc, NOW)


def test_a_job_whose_state_changed_in_its_place_is_not_reused():
    doc = json.loads((FIXTURES / "refresh" / "22.05" / "squeue_all.first.json").read_text())
    reader = JobsReader()
    reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    place, pending = next((i, j) for i, j in enumerate(doc["jobs"]) if j["job_state"] == "PENDING")
    pending["last_sched_evaluation"] += 2
    pending["job_state"], pending["state_reason"] = "RUNNING", "None"
    jobs = reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    assert reader.reused == len(jobs) - 1
    assert jobs[place].state == "RUNNING" and jobs == parse.parse_jobs(doc, NOW)


def test_a_job_whose_unread_fields_alone_changed_is_reused_after_comparing_its_fields(monkeypatch):
    doc = json.loads((FIXTURES / "recorded" / "22.05" / "squeue_all.json").read_text())
    reader = JobsReader()
    before = reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    assert "comment" in doc["jobs"][1] and "comment" not in JobFields.__annotations__
    doc["jobs"][1]["comment"] = "seen by the cockpit"
    decoded = counting_decodes(monkeypatch)
    jobs = reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    assert reader.reused == len(jobs) and len(decoded) == 2  # this job now, and as it was
    assert jobs[1] is before[1] or before[1].state == "RUNNING"
    assert jobs == parse.parse_jobs(doc, NOW)


def test_a_job_that_moved_and_changed_is_parsed_again():
    doc = json.loads((FIXTURES / "recorded" / "24.11" / "squeue_all.json").read_text())
    reader = JobsReader()
    reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    moved = doc["jobs"].pop(0)
    moved["job_state"] = ["CANCELLED"]
    doc["jobs"].append(moved)
    jobs = reader.read(decode_jobs_reply(encoded(doc), "squeue"), NOW)
    assert reader.reused == len(jobs) - 1 and jobs[-1].state == "CANCELLED"
    assert jobs == parse.parse_jobs(doc, NOW)


@pytest.mark.parametrize("path", [FIXTURES / "recorded" / r / "squeue_all.json" for r in ("22.05", "24.11", "26.05")],
                         ids=lambda p: p.parent.name)
def test_random_refreshes_give_what_parse_jobs_gives(path: Path):
    """Queues reshuffled, purged, grown, rescheduled and changed at random, reply after reply:
    the reader must agree with parsing every job afresh, whatever it reused."""
    import random

    rng = random.Random(19)
    seeds = json.loads(path.read_text())
    doc = json.loads(json.dumps(seeds))
    reader = JobsReader()
    next_id = 90_000
    for step in range(40):
        jobs = doc["jobs"]
        for job in jobs:
            value = job.get("last_sched_evaluation")
            if rng.random() < 0.5 and isinstance(value, int):
                job["last_sched_evaluation"] = value + 2
            elif rng.random() < 0.5 and isinstance(value, dict):
                job["last_sched_evaluation"] = {**value, "number": (value.get("number") or 0) + 2}
        action = rng.choice(["remove", "insert", "swap", "state", "name", "none"])
        if action == "remove" and len(jobs) > 1:
            jobs.pop(rng.randrange(len(jobs)))
        elif action == "insert":
            new = json.loads(json.dumps(rng.choice(seeds["jobs"])))
            new["job_id"] = next_id = next_id + 1
            jobs.insert(rng.randrange(len(jobs) + 1), new)
        elif action == "swap" and len(jobs) > 1:
            i, j = rng.sample(range(len(jobs)), 2)
            jobs[i], jobs[j] = jobs[j], jobs[i]
        elif action == "state":
            rng.choice(jobs)["job_state"] = rng.choice(["COMPLETED", ["CANCELLED"], "RUNNING"])
        elif action == "name":
            rng.choice(jobs)["name"] = f"renamed-{step}"
        now = NOW + timedelta(seconds=31 * step)
        got = reader.read(decode_jobs_reply(encoded(doc), "squeue"), now)
        assert got == parse.parse_jobs(json.loads(encoded(doc)), now), (step, action)
