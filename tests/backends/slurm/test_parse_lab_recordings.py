"""Parsers against CLI output recorded from real Slurm 24.11 and 26.05 labs on this machine (one
scenario, every data_parser version those releases write; see tests/fixtures/slurm/README.md).
Every expected exit code below is what text `sacct` printed for the same jobs at the same moment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.slurm import parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slurm"
LABS = {"v0.0.42": "24.11.5-lab", "v0.0.43": "26.05.5-lab", "v0.0.44": "26.05.5-lab", "v0.0.45": "26.05.5-lab"}


def load(version: str, name: str):
    return json.loads((FIXTURES / version / LABS[version] / name).read_text())


@pytest.mark.parametrize("version", list(LABS))
def test_sacct_history_with_steps_and_signals(version):
    doc = load(version, "sacct.json")
    assert parse.api_version(doc) == version
    history = {h.job_id: h for h in parse.parse_history(doc)}
    steps = {job: [(s.step_id, s.name, s.state, s.exit_code) for s in h.steps] for job, h in history.items()}
    # sacct: 1 CANCELLED+ 0:0 / 1.batch 0:15; 2 CANCELLED+ 0:0 derived 0:15 / 2.batch 0:15 / 2.0 sleep 0:15;
    # 3 FAILED 3:0 / 3.batch 3:0
    assert (history[1].state, history[1].exit_code, history[1].derived_exit_code, history[1].gpus) == (
        "CANCELLED", "0:0", "0:0", 1)
    assert steps[1] == [("1.batch", "batch", "CANCELLED", "0:15")]
    assert (history[2].exit_code, history[2].derived_exit_code, history[2].gpus) == ("0:0", "0:15", 2)
    assert steps[2] == [("2.batch", "batch", "CANCELLED", "0:15"), ("2.0", "sleep", "CANCELLED", "0:15")]
    assert (history[3].state, history[3].exit_code, steps[3]) == ("FAILED", "3:0", [("3.batch", "batch", "FAILED", "3:0")])


@pytest.mark.parametrize("version", ["v0.0.43", "v0.0.44", "v0.0.45"])
def test_finished_jobs_in_the_queue_show_signals_as_sacct_does(version):
    doc = load(version, "squeue_all.json")  # squeue --json --states=all
    jobs = {j.job_id: j for j in parse.parse_jobs(doc)}
    assert [(j.state, j.exit_code) for j in jobs.values()] == [
        ("CANCELLED", "0:15"), ("CANCELLED", "0:15"), ("FAILED", "3:0"), ("RUNNING", "0:0")]
    assert (jobs[4].nodes, jobs[4].gpus, jobs[4].gpu_indices) == ("node[1-2]", 4, {"node1": "0-1", "node2": "0-1"})


@pytest.mark.parametrize("version", ["v0.0.42", "v0.0.45"])
def test_queue_gpus_per_node_per_task_and_pending(version):
    jobs = {j.job_id: j for j in parse.parse_jobs(load(version, "squeue.json"))}
    assert (jobs[1].gres, jobs[1].gpus, jobs[1].gpu_indices) == ("gres/gpu:1", 1, {"node1": "0"})
    # --gpus-per-task=1 -n 2: tres_per_task is written with '=' by the CLI of both releases
    assert (jobs[2].gres, jobs[2].gpus, jobs[2].gpu_indices) == ("gres/gpu=1", 2, {"node2": "0-1"})
    raw = next(j for j in load(version, "squeue.json")["jobs"] if j["job_id"] == 2)
    assert parse.parse_job({**raw, "tres_alloc_str": "", "gres_detail": []}).gpus == 2  # from the request alone
    assert (jobs[4].state, jobs[4].reason, jobs[4].gpus) == ("PENDING", "Resources", 4)  # --gres=gpu:2 on 2 nodes


@pytest.mark.parametrize("version, name", [("v0.0.42", "nodes.json"), ("v0.0.42", "sinfo.json"),
                                           ("v0.0.45", "nodes.json"), ("v0.0.45", "sinfo.json")])
def test_nodes_from_scontrol_and_from_grouped_sinfo(version, name):
    nodes = {n.name: n for n in parse.parse_nodes(load(version, name))}
    # sinfo -N at the same moment: node1 idle, node2 drained
    assert {n: (x.state_label, x.gpus, x.gpus_used, x.partitions, x.cpus) for n, x in nodes.items()} == {
        "node1": ("idle", 2, 0, ("debug",), 2), "node2": ("drained", 2, 0, ("debug",), 2)}
    assert nodes["node2"].reason == "test" and nodes["node2"].drained
