"""Why a job waits, in plain words (cockpit/slurm_reasons.py), for every code Slurm knows."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backends.slurm.parse import parse_jobs, parse_nodes
from cockpit.slurm_reasons import explain, short_of, what_to_do, why_waiting

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"
CODES = [line.strip() for line in (FIXTURES / "reasons" / "job_state_reasons.txt").read_text().splitlines()
         if line.strip() and not line.startswith("#")]


def test_every_code_of_slurm_has_words() -> None:
    assert len(CODES) > 190 and "JobHeldUser" in CODES and "QOSGrpGRES" in CODES
    missing = [c for c in CODES if c != "None" and not (explain(c).known and explain(c).words)]
    assert missing == []


@pytest.mark.parametrize("code, words, kind", [
    ("JobHeldUser", "held by its user", "held"),
    ("JobHeldAdmin", "held by an admin", "held"),
    ("Dependency", "depends on", "dependency"),
    ("Resources", "resources", "resources"),
    ("Priority", "higher-priority jobs go first", "priority"),
    ("QOSMaxGRESPerUser", "the QOS's limit on GRES (GPUs) per user is reached", "limit"),
    ("AssocGrpCpuLimit", "the account's group limit on CPUs is reached", "limit"),
    ("QOSGrpCPURunMinutesLimit", "CPU-minutes of running jobs", "limit"),
    ("MaxSubmitJobsPerAccount", "submitted jobs per account", "limit"),
    ("ReqNodeNotAvail", "down, drained or reserved", "nodes"),
    ("Reservation", "reservation", "reservation"),
    ("JobArrayTaskLimit", "most tasks at once", "array"),
])
def test_words_and_kinds(code, words, kind) -> None:
    reason = explain(code)
    assert words in reason.words and reason.kind == kind


def test_detail_after_the_code_and_unknown_codes() -> None:
    reason = explain("ReqNodeNotAvail, UnavailableNodes:node[3-4]")
    assert reason.kind == "nodes" and "unavailable: node[3-4]" in reason.words
    assert explain("(Dependency)").code == "Dependency"
    odd = explain("SomethingNew")
    assert not odd.known and odd.label() == "SomethingNew"  # shown as Slurm says it, never invented


def test_held_names_the_key_that_releases() -> None:
    label = explain("JobHeldUser").label(lambda action: {"slurm.release": "l"}.get(action))
    assert label == "JobHeldUser: held by its user (release with l)"


@pytest.fixture(scope="module")
def recorded():
    now = datetime.fromtimestamp(1795368826, tz=timezone.utc)
    jobs = parse_jobs(json.loads((FIXTURES / "v0.0.38" / "squeue.json").read_text()), now)
    nodes = parse_nodes(json.loads((FIXTURES / "v0.0.38" / "sinfo.json").read_text()))
    return jobs, nodes


def test_pending_jobs_of_a_real_queue_say_why(recorded) -> None:
    jobs, nodes = recorded
    pending = [j for j in jobs if j.state == "PENDING"]
    assert pending
    for job in pending:
        line = why_waiting(job, nodes)
        assert line and line.startswith(job.reason or "pending")
    assert all(why_waiting(j, nodes) is None for j in jobs if j.state != "PENDING")
    held = next(j for j in pending if j.reason == "JobHeldUser")
    assert "held by its user" in why_waiting(held, nodes)


def test_resources_say_what_is_short(recorded) -> None:
    jobs, nodes = recorded
    job = next(j for j in jobs if j.reason == "Resources")
    short = short_of(job, nodes)
    total_nodes = sum(1 for n in nodes if job.partition in n.partitions)
    assert short is not None and f"of {total_nodes} nodes usable" in short
    assert "needs" in short and why_waiting(job, nodes).endswith(short)


def test_every_reason_in_every_recorded_reply_has_words() -> None:
    """All Slurm releases and transports recorded under tests/fixtures/slurm (22.05 .. 26.05)."""
    reasons: set[str] = set()
    for path in sorted(FIXTURES.rglob("*.json")):
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or "jobs" not in doc:
            continue
        try:
            jobs = parse_jobs(doc, datetime.fromtimestamp(1795368826, tz=timezone.utc))
        except Exception:  # accounting (sacct) replies have their own parser; jobs only here
            continue
        reasons |= {j.reason for j in jobs if j.reason}
    assert {"JobHeldUser", "Resources", "JobArrayTaskLimit"} <= reasons
    assert [r for r in sorted(reasons) if not explain(r).words] == []


def test_every_wait_a_person_can_act_on_says_what_to_do() -> None:
    """Every code of Slurm whose kind is a wait (not an ending, not 'other') has an action in words."""
    waits = [c for c in CODES if explain(c).kind not in ("ended", "other")]
    assert len(waits) > 150
    assert [c for c in waits if not explain(c).advice] == []


@pytest.mark.parametrize("code, advice", [
    ("JobHeldAdmin", "scontrol release 42"),
    ("BeginTime", "scontrol update jobid=42 StartTime=now"),
    ("QOSMaxWallDurationPerJobLimit", "lower its time limit"),
    ("QOSMaxGRESPerJob", "can never meet"),  # a per-job maximum: waiting will not help
    ("AssocGrpGRES", "group's running jobs to finish"),
    ("QOSMinCpuNotSatisfied", "at least the minimum"),
    ("ReqNodeNotAvail, UnavailableNodes:node3", "resume the node"),
    ("DependencyNeverSatisfied", "cancel it and resubmit"),
])
def test_what_to_do_fills_in_the_job(code, advice) -> None:
    assert advice in what_to_do({"job_id": 42, "reason": code, "state": "PENDING"})


def test_real_pending_jobs_get_an_action(recorded) -> None:
    jobs, _ = recorded
    pending = [j for j in jobs if j.state == "PENDING"]
    for job in pending:
        assert what_to_do(job), job.reason
    held = next(j for j in pending if j.reason == "JobHeldUser")
    assert what_to_do(held) == "release it when it should run"
    assert what_to_do({"job_id": 1, "reason": None}) is None
