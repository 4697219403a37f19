"""Parsers against everything `cockpit lab record` keeps from real Slurm 22.05, 24.11 and 26.05 labs
(tests/fixtures/slurm/recorded/<release>/, with the job mix in each README): every CLI command at
every data_parser version the release ships, and every slurmrestd version it serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.slurm import parse

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "slurm" / "recorded"


def files(*patterns: str) -> list[str]:
    found = sorted({str(p.relative_to(RECORDED)) for pattern in patterns for p in RECORDED.glob(f"*/{pattern}")})
    assert found, f"no recorded files match {patterns} under {RECORDED}"
    return found


def load(rel: str):
    return json.loads((RECORDED / rel).read_text())


def test_every_release_is_recorded():
    assert {p.name for p in RECORDED.iterdir() if p.is_dir()} >= {"22.05", "24.11", "26.05"}


@pytest.mark.parametrize("rel", files("squeue*.json", "scontrol_show_jobs*.json", "rest_slurm_v*_jobs.json"))
def test_queue(rel):
    doc = load(rel)
    assert parse.api_version(doc), rel
    jobs = {j.display_id: j for j in parse.parse_jobs(doc)}
    train, per_task, wait, held = jobs["4"], jobs["5"], jobs["7"], jobs["8"]
    assert (train.name, train.state, train.node_count, train.gpus) == ("gpu-train", "RUNNING", 2, 4)
    assert len(train.gpu_indices) == 2 and all(train.gpu_indices.values())  # one gres_detail entry per node
    assert (per_task.name, per_task.state, per_task.gpus) == ("per-task-gpu", "RUNNING", 2)
    assert (wait.state, wait.reason, wait.gpus, wait.start_time) == ("PENDING", "Resources", 6, None)
    assert (held.state, held.reason) == ("PENDING", "JobHeldUser")
    assert {k for k in jobs if k.startswith("6_")} == {"6_0", "6_1", "6_[2-3%2]"}
    assert jobs["6_[2-3%2]"].reason == "JobArrayTaskLimit"
    if "1" in jobs:  # --states=all, scontrol and slurmrestd also list finished jobs
        assert (jobs["1"].state, jobs["1"].exit_code) == ("COMPLETED", "0:0")
        assert (jobs["2"].state, jobs["2"].reason, jobs["2"].exit_code) == ("FAILED", "NonZeroExitCode", "3:0")
        assert (jobs["3"].state, jobs["3"].exit_code) == ("CANCELLED", "0:15")  # scancel: SIGTERM


@pytest.mark.parametrize("rel", files("sacct*.json", "rest_slurmdb_v*_jobs.json"))
def test_history(rel):
    doc = load(rel)
    assert parse.api_version(doc), rel
    by_name: dict[str, list] = {}
    for job in parse.parse_history(doc):
        by_name.setdefault(job.name, []).append(job)
    (completes,), (fails,), (cancelled,) = by_name["completes"], by_name["fails"], by_name["cancelled"]
    assert (completes.state, completes.exit_code) == ("COMPLETED", "0:0")
    assert [(s.step_id.split(".")[1], s.state, s.exit_code) for s in completes.steps] == [("batch", "COMPLETED", "0:0")]
    assert fails.state == "FAILED" and [s.state for s in fails.steps] == ["FAILED"]
    if not rel.startswith("22.05/"):  # 22.05's sacct --json writes this exit code as SUCCESS 0 (README)
        assert fails.exit_code == "3:0" and fails.steps[0].exit_code == "3:0"
    assert (cancelled.state, cancelled.exit_code) == ("CANCELLED", "0:0")
    assert [(s.step_id.split(".")[1], s.state, s.exit_code) for s in cancelled.steps] == [("batch", "CANCELLED", "0:15")]
    assert by_name["gpu-train"][0].gpus == 4 and by_name["per-task-gpu"][0].gpus == 2
    assert by_name["gpu-wait"][0].steps == ()


@pytest.mark.parametrize("rel", files("sinfo*.json", "scontrol_show_nodes*.json", "rest_slurm_v*_nodes.json"))
def test_nodes(rel):
    doc = load(rel)
    assert parse.api_version(doc), rel
    nodes = {n.name: n for n in parse.parse_nodes(doc)}
    assert {n: (x.state_label, x.gpus, x.gpus_used) for n, x in nodes.items()} == {
        "node1": ("allocated", 2, 2), "node2": ("allocated", 2, 2), "node3": ("allocated", 2, 2),
        "node4": ("drained", 2, 0)}
    assert nodes["node4"].reason == "recorded drain" and nodes["node4"].partitions == ("debug",)


@pytest.mark.parametrize("rel", files("scontrol_show_partitions*.json", "rest_slurm_v*_partitions.json"))
def test_partitions(rel):
    doc = load(rel)
    (part,) = parse.parse_partitions(doc, parse.parse_nodes(load(rel.split("/")[0] + "/scontrol_show_nodes.json"))
                                     if not rel.startswith("22.05/") else parse.parse_nodes(load("22.05/sinfo.json")))
    assert (part.name, part.state, part.nodes, part.node_count, part.max_time_s) == ("debug", "UP", "node[1-4]", 4, None)
    assert (part.gpus, part.gpus_used, part.node_states) == (8, 6, {"allocated": 3, "drained": 1})


def test_partitions_from_22_05_scontrol_text_match_its_rest_reply():
    nodes = parse.parse_nodes(load("22.05/sinfo.json"))
    text = (RECORDED / "22.05" / "scontrol_show_partitions_o.txt").read_text()
    assert parse.partitions_from_scontrol(text, nodes) == parse.parse_partitions(
        load("22.05/rest_slurm_v0.0.38_partitions.json"), nodes)
