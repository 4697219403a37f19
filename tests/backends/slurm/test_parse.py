"""Parsers against a fixture per openapi version (see tests/fixtures/slurm/README.md)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backends.slurm import parse
from backends.slurm.hostlist import expand_hostlist
from backends.slurm.transport import SlurmError, jwt_expiry, reported_errors

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slurm"
# Hand-derived samples, kept only where no real reply of that data_parser version is at hand
# (23.02's v0.0.39; v0.0.41's node/partition/sacct shapes); real replies: test_parse_real_replies.py.
DERIVED = ("v0.0.39", "v0.0.41")
NOW = datetime.fromtimestamp(1795368726 + 100, tz=timezone.utc)


def load(version: str, name: str):
    return json.loads((FIXTURES / version / name).read_text())


def test_recorded_22_05_queue():
    jobs = {j.display_id: j for j in parse.parse_jobs(load("v0.0.38", "squeue.json"), NOW)}
    assert set(jobs) == {"1", "2", "3_0", "3_1", "3_[2-3%2]", "6", "7"}
    running = jobs["1"]
    assert (running.state, running.nodes, running.node_count, running.gpus) == ("RUNNING", "node[1-2]", 2, 4)
    assert running.end_time is None and running.time_used_s == 100 - 1 and running.time_limit_s is None
    assert running.stdout == "/tmp/cslab-dev/out/slurm-1.out"
    waiting = jobs["2"]
    assert (waiting.state, waiting.reason, waiting.gpus, waiting.start_time) == ("PENDING", "Resources", 8, None)
    assert jobs["3_0"].array_job_id == 3 and jobs["3_0"].array_task_id == 0
    assert jobs["3_0"].stdout.endswith("slurm-3_0.out")
    assert jobs["3_[2-3%2]"].reason == "JobArrayTaskLimit" and jobs["3_[2-3%2]"].array_tasks == "2-3%2"
    assert (jobs["6"].state, jobs["6"].exit_code, jobs["6"].reason) == ("FAILED", "3:0", "NonZeroExitCode")
    assert jobs["7"].reason == "JobHeldUser" and jobs["7"].time_limit_s == 600


def test_recorded_22_05_nodes_partitions_history():
    nodes = parse.parse_nodes(load("v0.0.38", "sinfo.json"))
    assert [(n.name, n.state_label, n.gpus, n.gpus_used) for n in nodes] == [
        ("node1", "allocated", 2, 2), ("node2", "allocated", 2, 2), ("node3", "idle", 2, 0), ("node4", "idle", 2, 0)]
    from_text = parse.partitions_from_scontrol((FIXTURES / "v0.0.38" / "scontrol_show_partition_o.txt").read_text(), nodes)
    from_rest = parse.parse_partitions(load("v0.0.38", "rest_slurm_v0.0.38_partitions.json"), nodes)
    assert from_text == from_rest
    assert from_text[0].default and from_text[0].gpus == 8 and from_text[0].gpus_used == 4 and from_text[0].max_time_s is None
    history = {h.display_id: h for h in parse.parse_history(load("v0.0.38", "sacct.json"))}
    assert history["1"].gpus == 4 and history["1"].state == "RUNNING"
    assert history["3_0"].state == "RUNNING" and history["2"].nodes is None
    assert parse.parse_history(load("v0.0.38", "rest_slurmdb_v0.0.38_jobs.json"))[0].job_id == 1


def test_cli_and_rest_replies_parse_alike():
    cli = parse.parse_jobs(load("v0.0.38", "squeue.json"), NOW)
    rest = parse.parse_jobs(load("v0.0.38", "rest_slurm_v0.0.38_jobs.json"), NOW)
    strip = lambda js: [j.model_dump(exclude={"time_used_s"}) for j in js]  # noqa: E731
    assert strip(cli) == strip(rest)


@pytest.mark.parametrize("version", DERIVED)
def test_every_newer_version_gives_the_same_model(version):
    assert parse.api_version(load(version, "squeue.json")) == version
    jobs = {j.display_id: j for j in parse.parse_jobs(load(version, "squeue.json"), NOW)}
    assert set(jobs) == {"101", "102", "103_0", "103_[1-3%1]", "105"}
    train = jobs["101"]
    assert (train.state, train.nodes, train.gpus, train.time_limit_s, train.user) == ("RUNNING", "node[1-2]", 4, 3600, "alice")
    assert train.stdout == "/home/alice/runs/train-gpu-101.out" and train.end_time is None
    waiting = jobs["102"]
    assert (waiting.state, waiting.reason, waiting.gpus, waiting.time_limit_s, waiting.start_time) == (
        "PENDING", "Resources", 8, None, None)
    assert jobs["103_0"].array_job_id == 103 and jobs["103_[1-3%1]"].array_tasks == "1-3%1"
    assert (jobs["105"].state, jobs["105"].exit_code) == ("FAILED", "3:0")

    nodes = {n.name: n for n in parse.parse_nodes(load(version, "nodes.json"))}
    assert nodes["node4"].drained and nodes["node4"].state_label == "drained" and nodes["node4"].reason == "bad fan"
    assert nodes["node1"].gpus_used == 2 and nodes["node3"].state_label == "mixed" and nodes["node1"].version
    parts = {p.name: p for p in parse.parse_partitions(load(version, "partitions.json"), nodes.values())}
    assert (parts["gpu"].node_count, parts["gpu"].cpus, parts["gpu"].max_time_s, parts["gpu"].gpus) == (4, 8, None, 8)
    assert parts["short"].max_time_s == 1800 and parts["gpu"].node_states == {"allocated": 2, "mixed": 1, "drained": 1}

    history = {h.job_id: h for h in parse.parse_history(load(version, "sacct.json"))}
    assert (history[99].state, history[99].gpus, history[99].exit_code, history[99].elapsed_s) == ("FAILED", 4, "1:0", 300)
    assert history[98].gpus == 0 and history[100].state == "CANCELLED"


def test_job_resources_object_supplies_nodes_when_the_flat_field_is_missing():
    raw = dict(load("v0.0.41", "squeue.json")["jobs"][0])
    raw.pop("nodes")
    assert parse.parse_job(raw, NOW).nodes == "node[1-2]"


@pytest.mark.parametrize("doc, words", [
    ([], "expected a JSON object"),
    ({"meta": {}}, "no 'jobs' list"),
    ({"jobs": [{"name": "x"}]}, "without job_id"),
    ({"jobs": [{"job_id": "abc"}]}, "not a number"),
    ({"jobs": [{"job_id": 1, "job_state": 5}]}, "neither a string nor a list"),
    ({"errors": [{"description": "Failed while looking for jobs"}], "jobs": []}, "Failed while looking for jobs"),
])
def test_malformed_replies_say_what_is_wrong(doc, words):
    with pytest.raises(parse.MalformedReply, match=words):
        parse.parse_jobs(doc)


def test_in_band_errors_are_failures_not_empty_queues():
    with pytest.raises(SlurmError, match="slurm_load_jobs"):
        reported_errors({"errors": [{"description": "x", "source": "slurm_load_jobs"}], "jobs": []}, "squeue")
    reported_errors({"errors": [], "jobs": []}, "squeue")


def test_helpers():
    assert parse.num({"set": True, "infinite": False, "number": 5}) == 5
    assert parse.num({"set": False, "infinite": False, "number": 0}) is None
    assert parse.num({"set": True, "infinite": True, "number": 0}) is None
    assert parse.gpus_in_gres("gpu:a100:2(IDX:0,1),gpu:v100:1") == 3 and parse.gpus_in_gres("gpu:2(S:0-1)") == 2
    assert parse.duration_s("1-02:03:04") == 93784 and parse.duration_s("30") == 1800
    assert parse.duration_s("UNLIMITED") is None
    assert parse.expand_output_path("out/%x_%A_%a.log", 7, "n", "u", "/w", 5, 2, None) == "/w/out/n_5_2.log"
    assert expand_hostlist("node[1-3,7],gpu[01-02],login") == [
        "node1", "node2", "node3", "node7", "gpu01", "gpu02", "login"]
    assert jwt_expiry("x.eyJleHAiOjEyM30.y") == 123.0 and jwt_expiry("garbage") is None


def test_decode_json_reads_bytes_and_text_and_names_bad_input():
    from backends.slurm.transport import decode_json

    raw = (FIXTURES / "v0.0.38" / "squeue.json").read_bytes()
    assert decode_json(raw, "squeue --json") == decode_json(raw.decode(), "squeue --json") == json.loads(raw)
    with pytest.raises(parse.MalformedReply, match=r"squeue --json returned malformed JSON .*'\{\"jobs\": \['"):
        decode_json('{"jobs": [', "squeue --json")


def test_gc_is_paused_while_decoding_and_restored_after():
    import gc

    from backends.slurm.transport import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with gc_paused():
            raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def recorded_queue_jobs() -> list[dict]:
    """Every job record of every recorded or published queue reply under tests/fixtures/slurm."""
    jobs = []
    for path in sorted(FIXTURES.rglob("*.json")):
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and isinstance(doc.get("jobs"), list):
            jobs += [j for j in doc["jobs"] if isinstance(j, dict) and "job_state" in j]
    return jobs


def test_parse_job_builds_what_model_construct_and_validation_build():
    """parse_job builds its Job without model_construct (parse.constructed_job): the same
    fields in the same order, the same fields set, nothing extra or private, and valid."""
    records = recorded_queue_jobs()
    assert len(records) > 100
    assert parse.Job.__pydantic_post_init__ is None and not parse.Job.__private_attributes__
    for raw in records:
        job = parse.parse_job(raw, NOW)
        values = {k: v for k, v in vars(job).items() if k in job.model_fields_set}
        built = parse.Job.model_construct(**values)
        assert list(vars(job).items()) == list(vars(built).items())
        assert job.model_fields_set == built.model_fields_set
        assert (job.__pydantic_extra__, job.__pydantic_private__) == (built.__pydantic_extra__, built.__pydantic_private__)
        assert parse.Job.model_validate(vars(job)) == job
        assert job.model_dump() == built.model_dump()


def test_a_parsed_job_copies_and_updates_as_a_constructed_one():
    """The source sets priority ranks with model_copy(update=...): parsed jobs share one fields
    set, which that must leave alone (so must a running job's copy, seen later)."""
    first, second = (parse.parse_job(raw, NOW) for raw in recorded_queue_jobs()[:2])
    ranked = first.model_copy(update={"priority_rank": 1, "priority_rank_of": 3})
    assert (ranked.priority_rank, ranked.priority_rank_of) == (1, 3)
    assert "priority_rank" in ranked.model_fields_set
    assert "priority_rank" not in first.model_fields_set | second.model_fields_set
    seen = parse.job_seen_at(ranked.model_copy(update={"state": "RUNNING", "start_time": NOW, "end_time": None}),
                             NOW + timedelta(seconds=5))
    assert seen.time_used_s == 5 and seen.model_copy(update={"nodes": "n9"}).model_fields_set >= {"priority_rank", "nodes"}
    assert "priority_rank" not in parse.parse_job(recorded_queue_jobs()[0], NOW).model_fields_set
    assert "nodes" in first.model_fields_set and first.model_fields_set == second.model_fields_set


@pytest.mark.parametrize("ran", [timedelta(0), timedelta(microseconds=999_999), timedelta(days=3, seconds=17, microseconds=500_000),
                                 timedelta(microseconds=-1), timedelta(seconds=-1, microseconds=-500_000), timedelta(days=-2),
                                 timedelta(days=20_000, seconds=86_399, microseconds=999_999)])
def test_seconds_running_is_the_whole_seconds_of_the_timedelta(ran: timedelta):
    assert parse.seconds_running(NOW - ran, NOW) == max(0, int(ran.total_seconds()))


def test_a_running_job_seen_later_is_its_model_copy_with_time_used_moved_on():
    raw = next(j for j in recorded_queue_jobs() if parse.parse_job(j, NOW).state == "RUNNING")
    now = parse.parse_job(raw, NOW).start_time + timedelta(hours=1)
    job = parse.parse_job(raw, now)
    ranked = job.model_copy(update={"priority_rank": 2, "priority_rank_of": 5})  # as the source may hand it back
    for earlier in (job, ranked):
        later = now + timedelta(seconds=90, microseconds=700_000)
        seen = parse.job_seen_at(earlier, later)
        expected = earlier.model_copy(update={"time_used_s": 3600 + 90})
        assert list(vars(seen).items()) == list(vars(expected).items())
        assert seen.model_fields_set == expected.model_fields_set
        ranks = {k: getattr(earlier, k) for k in ("priority_rank", "priority_rank_of")}
        assert seen == parse.parse_job(raw, later).model_copy(update=ranks)
        assert parse.job_seen_at(earlier, now) is earlier
    pending = next(parse.parse_job(j, NOW) for j in recorded_queue_jobs() if parse.parse_job(j, NOW).state == "PENDING")
    assert parse.job_seen_at(pending, NOW + timedelta(hours=1)) is pending
