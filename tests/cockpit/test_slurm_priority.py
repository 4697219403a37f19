"""A pending job's place in its partition's queue by priority ("priority 2nd of 2 in debug"), from
real squeue --json replies of the lab (Slurm 22.05, 24.11, 26.05) parsed by the real parser."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backends.slurm.parse import parse_jobs
from backends.slurm.source import SlurmSource
from cockpit.slurm_priority import ordinal, priority_ranks, rank_words, with_priority_ranks
from cockpit.slurm_reasons import why_waiting

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "slurm" / "recorded"


def ranked(release: str, name: str = "squeue.json") -> dict[int, object]:
    jobs = with_priority_ranks(parse_jobs(json.loads((RECORDED / release / name).read_text())))
    return {j.job_id: j for j in jobs}


def test_22_05_ranks_by_the_numbers_slurm_gave() -> None:
    # job 6 (priority 4294901754) before job 7 (4294901753); job 8 is held (priority 0): no rank
    jobs = ranked("22.05")
    assert (jobs[6].priority_rank, jobs[6].priority_rank_of) == (1, 2)
    assert (jobs[7].priority_rank, jobs[7].priority_rank_of) == (2, 2)
    assert jobs[8].priority == 0 and jobs[8].priority_rank is None
    assert all(j.priority_rank is None for j in jobs.values() if j.state != "PENDING")
    assert rank_words(jobs[7]) == "priority 2nd of 2 in debug"
    # the reason line says it after what is short: Resources waits its turn too
    line = why_waiting(jobs[7], nodes=None)
    assert line == "Resources: waits for free resources; priority 2nd of 2 in debug"
    assert "priority" not in (why_waiting(jobs[8]) or "")  # held: releasing it is what helps


@pytest.mark.parametrize("release, name", [("24.11", "squeue.json"), ("26.05", "squeue.json"),
                                           ("26.05", "rest_slurm_v0.0.44_jobs.json")])
def test_newer_releases_priority_structs_and_ties_share_a_rank(release: str, name: str) -> None:
    # {"set": true, "number": 1} for both pending jobs of the lab's default multifactor-less setup
    jobs = ranked(release, name)
    assert [(jobs[k].priority, jobs[k].priority_rank, jobs[k].priority_rank_of) for k in (6, 7)] == [(1, 1, 2)] * 2
    assert jobs[8].priority_rank is None


def test_rank_within_each_partition_of_a_busy_queue() -> None:
    """The 22.05 reply scaled to 12 pending jobs in gpu and 3 in debug, priorities spread."""
    doc = json.loads((RECORDED / "22.05" / "squeue.json").read_text())
    template = next(j for j in doc["jobs"] if j["job_state"] == "PENDING" and j["priority"] > 0)
    jobs = []
    for i in range(15):
        job = copy.deepcopy(template)
        job["job_id"] = 100 + i
        job["partition"] = "gpu" if i < 12 else "debug"
        job["priority"] = 1000 - 10 * i
        jobs.append(job)
    jobs[5]["priority"] = jobs[4]["priority"]  # a tie
    doc["jobs"] = doc["jobs"] + jobs
    by_id = {j.job_id: j for j in with_priority_ranks(parse_jobs(doc))}
    assert rank_words(by_id[102]) == "priority 3rd of 12 in gpu"
    assert (by_id[104].priority_rank, by_id[105].priority_rank, by_id[106].priority_rank) == (5, 5, 7)
    assert rank_words(by_id[111]) == "priority 12th of 12 in gpu"
    # debug: the recorded jobs 6 and 7 (priorities 4294901754, 4294901753) before the three added (880..860)
    assert [by_id[k].priority_rank for k in (6, 7, 112, 113, 114)] == [1, 2, 3, 4, 5]
    assert priority_ranks(by_id.values())["114"] == (5, 5)


def test_ordinal() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]


def test_the_source_ranks_the_queue_it_fetched() -> None:
    """Every consumer (snapshot JSON, recorder, viewers) gets the rank: the source sets it."""
    doc = json.loads((RECORDED / "22.05" / "squeue.json").read_text())
    jobs, _nodes = SlurmSource._parse_queue(doc, {"nodes": []}, datetime.now(timezone.utc))
    by_id = {j.job_id: j for j in jobs}
    assert (by_id[7].priority_rank, by_id[7].priority_rank_of) == (2, 2)
    assert by_id[7].model_dump(mode="json")["priority_rank"] == 2
