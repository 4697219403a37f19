"""Parsers against real slurmrestd replies of Slurm 23.11 .. 25.11 (data_parser v0.0.40 .. v0.0.44),
copied from Slurm-web's recorded test assets (provenance per file in tests/fixtures/slurm/README.md),
and the exit code / node state rules taken from Slurm's own source."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from backends.slurm import parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slurm"


def load(rel: str):
    return json.loads((FIXTURES / rel).read_text())


def test_gpus_per_task_23_11_are_counted_times_the_tasks():
    doc = load("v0.0.40/23.11.10/slurm-job-gpus-per-task.json")
    assert parse.api_version(doc) == "v0.0.40"
    (job,) = parse.parse_jobs(doc)
    # `--gpus-per-task 2 --ntasks 2`: tres_per_task "gres/gpu:2", GPUs not accounted as TRES
    assert (job.job_id, job.state, job.gres, job.gpus) == (505, "RUNNING", "gres/gpu:2", 4)
    assert job.gpu_indices == {"ia2": "0-1,2-3"}
    assert (job.exit_code, job.derived_exit_code) == ("0:0", "0:0")


def test_gpus_per_task_25_11_equals_spelling_and_expanded_output_path():
    doc = load("v0.0.44/25.11.0/slurm-job-gpus-per-task.json")
    assert parse.api_version(doc) == "v0.0.44"
    (job,) = parse.parse_jobs(doc)
    assert (job.gres, job.gpus, job.gpu_indices) == ("gres/gpu=2", 4, {"gpu1": "0-3"})
    assert job.nodes == "gpu1" and job.node_count == 1 and job.time_limit_s == 60
    assert job.stdout == "/home/acuevas/slurm-5512.out"


def test_signalled_job_in_the_queue_shows_the_signal_as_sacct_does():
    (job,) = parse.parse_jobs(load("v0.0.40/23.11.10/slurm-job-timeout.json"))
    assert (job.state, job.reason, job.exit_code, job.derived_exit_code) == ("TIMEOUT", "TimeLimit", "0:15", "0:0")
    assert job.time_used_s == 79 and job.gpus == 0 and job.gpu_indices == {}


def test_request_alone_counts_when_nothing_is_allocated_yet():
    raw = load("v0.0.44/25.11.0/slurm-job-gpus-per-task.json")["jobs"][0]
    raw = {**raw, "gres_detail": [], "job_state": ["PENDING"]}
    assert parse.parse_job(raw).gpus == 4  # tres_per_task gres/gpu=2 x tasks 2
    assert parse.parse_job({**raw, "tasks": {"set": True, "infinite": False, "number": 3}}).gpus == 6


def test_gres_detail_beats_the_per_socket_request():
    (job,) = parse.parse_jobs(load("v0.0.40/23.11.10/slurm-job-gpus-per-socket.json"))
    assert (job.gres, job.gpus, job.gpu_indices) == ("gres/gpu:2", 2, {"ia1": "0-1"})
    raw = load("v0.0.40/23.11.10/slurm-job-gpus-per-socket.json")["jobs"][0]
    assert parse.parse_job({**raw, "gres_detail": []}).gpus == 4  # the request: 2 per socket x 2 sockets


def test_pending_job_24_11_counts_the_gpus_asked_for_the_whole_job():
    doc = load("v0.0.41/24.11.5/slurm-job-gpus-pending.json")
    assert parse.api_version(doc) == "v0.0.41"
    (job,) = parse.parse_jobs(doc)
    assert (job.state, job.reason, job.gpus, job.gres, job.nodes, job.start_time) == (
        "PENDING", "BeginTime", 4, "gres/gpu:4", None, None)


def test_gres_detail_gives_one_entry_per_allocated_node():
    doc = load("v0.0.40/23.11.10/slurm-job-gpus-multi-nodes.json")
    (job,) = parse.parse_jobs(doc)
    assert (job.nodes, job.gpus) == ("ia[1-2]", 12)
    assert job.gpu_indices == {"ia1": "0-1,2-5", "ia2": "0-1,2-5"}
    raw = doc["jobs"][0]
    # from gres_detail alone (GPUs not in tres_alloc_str), and from tres_per_job alone
    assert parse.parse_job({**raw, "tres_per_job": ""}).gpus == 12
    assert parse.parse_job({**raw, "gres_detail": []}).gpus == 12
    assert parse.parse_job({**raw, "gres_detail": [], "tres_per_job": ""}).gpus == 0


def test_node_state_labels_on_real_nodes():
    (planned,) = parse.parse_nodes(load("v0.0.42/25.11.0/slurm-node-planned.json"))
    # ["IDLE","COMPLETING","PLANNED"]: node_state_string() tests COMPLETING before IDLE's PLANNED
    assert (planned.state, planned.state_label, planned.gpus, planned.gpus_used) == ("IDLE", "completing", 4, 0)
    (planned,) = parse.parse_nodes(load("v0.0.42/24.11.5/slurm-node-planned.json"))
    assert (planned.state_label, planned.gpus, planned.gpus_used, planned.partitions) == ("planned", 6, 0, ("standard",))
    (draining,) = parse.parse_nodes(load("v0.0.44/25.11.0/slurm-node-draining.json"))
    assert (draining.state, draining.state_label, draining.drained) == ("MIXED", "draining", True)
    assert (draining.reason, draining.reason_set_by, draining.version) == ("ECC memory error", "root", "25.11.0")


def test_real_23_11_partitions_nodes_and_history():
    (part,) = parse.parse_partitions(load("v0.0.40/23.11.10/slurm-partitions.json"))
    assert (part.name, part.state, part.nodes, part.node_count, part.cpus, part.max_time_s) == (
        "normal", "UP", "cn[1-4]", 4, 256, None)
    (node,) = parse.parse_nodes(load("v0.0.40/23.11.10/slurm-node-down.json"))
    assert (node.state, node.state_label, node.reason, node.cpus, node.version) == (
        "DOWN", "drained", "Network dead", 64, "23.11.10")
    (job,) = parse.parse_history(load("v0.0.40/23.11.10/slurmdb-job-failed.json"))
    assert (job.job_id, job.state, job.exit_code, job.elapsed_s) == (510, "FAILED", "1:0", 1)
    assert [(s.step_id, s.state, s.exit_code) for s in job.steps] == [("510.batch", "FAILED", "1:0")]


def test_real_partitions_24_11():
    parts = {p.name: p for p in parse.parse_partitions(load("v0.0.42/24.11.5/slurm-partitions.json"))}
    assert set(parts) == {"standard", "ia"}
    std = parts["standard"]
    assert (std.state, std.nodes, std.node_count, std.cpus, std.max_time_s) == ("UP", "cn[1-4]", 4, 256, 7200)


def test_history_keeps_steps_and_exit_codes():
    (failed,) = parse.parse_history(load("v0.0.42/24.11.7/slurmdb-job-failed.json"))
    assert (failed.job_id, failed.state, failed.exit_code, failed.derived_exit_code) == (9746, "FAILED", "1:0", "0:0")
    assert [(s.step_id, s.name, s.state, s.exit_code, s.nodes, s.tasks, s.elapsed_s) for s in failed.steps] == [
        ("9746.batch", "batch", "FAILED", "1:0", "cn3", 1, 1)]
    (timeout,) = parse.parse_history(load("v0.0.42/25.05.4/slurmdb-job-timeout.json"))
    assert (timeout.state, timeout.exit_code, timeout.elapsed_s) == ("TIMEOUT", "0:0", 68)
    (batch,) = timeout.steps
    # the batch step was killed by SIGTERM: status SIGNALED, return_code unset, signal 15
    assert (batch.step_id, batch.state, batch.exit_code) == ("15229.batch", "CANCELLED", "0:15")


def test_history_25_05_gpus_from_tres_and_a_running_step():
    doc = load("v0.0.43/25.05.4/slurmdb-job-gpus-multi-nodes.json")
    assert parse.api_version(doc) == "v0.0.43"
    (job,) = parse.parse_history(doc)
    assert (job.state, job.nodes, job.gpus, job.exit_code, job.end_time) == ("RUNNING", "gpu[1-2]", 8, "0:0", None)
    (batch,) = job.steps
    assert (batch.step_id, batch.state, batch.nodes, batch.end_time) == ("14241.batch", "RUNNING", "gpu1", None)


def test_signalled_jobs_recorded_on_22_05():
    jobs = {j.job_id: j for j in parse.parse_jobs(load("v0.0.38/signalled/squeue.json"))}
    assert [(j.state, j.exit_code) for j in jobs.values()] == [("CANCELLED", "0:15"), ("CANCELLED", "0:15"),
                                                               ("FAILED", "3:0")]
    history = {h.job_id: h for h in parse.parse_history(load("v0.0.38/signalled/sacct.json"))}
    assert [(s.step_id, s.name, s.state, s.exit_code) for s in history[2].steps] == [
        ("2.batch", "batch", "CANCELLED", "0:15"), ("2.0", "sleep", "CANCELLED", "0:15")]
    assert history[1].exit_code == "0:0" and history[1].gpus == 1 and history[1].steps[0].exit_code == "0:15"


def test_history_22_05_steps_spell_only_the_step_name():
    history = {h.job_id: h for h in parse.parse_history(load("v0.0.38/sacct.json"))}
    assert [(s.step_id, s.state, s.nodes) for s in history[1].steps] == [("1.batch", "RUNNING", "node1")]
    assert history[2].steps == ()


def test_meta_plugins_plural_names_the_data_parser():
    doc = load("v0.0.44/25.11.0/slurm-node-draining.json")
    plural = copy.deepcopy(doc)
    plural["meta"]["plugins"] = plural["meta"].pop("plugin")  # 23.02's CLI spells it so
    assert parse.api_version(plural) == parse.api_version(doc) == "v0.0.44"
    plural["meta"]["plugins"] = ["data_parser/v0.0.43"]
    assert parse.api_version(plural) == "v0.0.43"
    assert parse.api_version({"meta": {"plugins": {}}}) is None


@pytest.mark.parametrize("value, expected", [
    # v0.0.38 squeue / 23.02.0-.3: the wait(2) status as a plain int
    (0, "0:0"), (3 << 8, "3:0"), (15, "0:15"), (9, "0:9"), (4294967295, None), (4294967294, None),
    # v0.0.39 from 23.02.4 ("Tag derived_exit_code and exit_code as UINT32_NO_VAL", Slurm's openapi
    # changelog): the same wait status inside a number struct
    ({"set": True, "infinite": False, "number": 256}, "1:0"),
    ({"set": True, "infinite": False, "number": 15}, "0:15"),
    ({"set": False, "infinite": False, "number": 0}, None),
    # verbose records: v0.0.38 sacct (plain numbers, string status), v0.0.40+ (lists and structs)
    ({"status": "SUCCESS", "return_code": 0}, "0:0"),
    ({"status": ["ERROR"], "return_code": {"set": True, "infinite": False, "number": 1},
      "signal": {"id": {"set": False, "infinite": False, "number": 0}, "name": ""}}, "1:0"),
    ({"status": ["SIGNALED"], "return_code": {"set": False, "infinite": False, "number": 0},
      "signal": {"id": {"set": True, "infinite": False, "number": 15}, "name": "TERM"}}, "0:15"),
    ({"status": ["PENDING"], "return_code": {"set": False, "infinite": False, "number": 0}}, None),
    (None, None),
])
def test_exit_codes_as_sacct_prints_them(value, expected):
    assert parse.exit_code(value) == expected


async def test_job_detail_lists_the_steps_of_the_accounted_job():
    """The job detail reads the steps from the last sacct read (here the real 25.05 reply)."""
    from backends.slurm.source import SlurmSource

    class Transport:  # answers with what a real slurmrestd sent; only the reply matters here
        label = "test"

        async def accounting(self):
            return True, None

        async def history_doc(self, since):
            return load("v0.0.42/25.05.4/slurmdb-job-timeout.json")

        async def job_fields(self, job_id):
            return {"JobId": str(job_id), "NodeList": "cn1"}

        async def batch_script(self, job_id):
            return None

    source = SlurmSource(Transport())
    await source._accounting()
    detail = await source.job_detail(15229)
    assert [(s["step_id"], s["exit_code"], s["state"]) for s in detail["steps"]] == [("15229.batch", "0:15", "CANCELLED")]
    assert detail["steps_note"] is None and detail["nodes"] == ["cn1"]
    other = await source.job_detail(1)
    assert other["steps"] == [] and "no accounting record" in other["steps_note"]
