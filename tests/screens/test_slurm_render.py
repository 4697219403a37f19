"""The SLURM pane's queue columns and the job detail's steps table, on real Slurm replies."""

from __future__ import annotations

import json
from pathlib import Path

from backends.slurm import parse
from screens.render.slurm import COLUMNS, steps_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"


def test_queue_shows_the_exit_code_of_a_signalled_job():
    (job,) = parse.parse_jobs(json.loads((FIXTURES / "v0.0.40/23.11.10/slurm-job-timeout.json").read_text()))
    row = {c.title: c.cell(job) for c in COLUMNS}
    assert (row["STATE"], row["EXIT"]) == ("TIMEOUT", "0:15")
    assert all(c.sort_key(job) for c in COLUMNS)  # every column sorts by a value key


def test_steps_table_lists_steps_as_sacct_does():
    doc = json.loads((FIXTURES / "v0.0.45/26.05.5-lab/sacct.json").read_text())
    job = next(h for h in parse.parse_history(doc) if h.job_id == 2)
    lines = steps_table([s.model_dump(mode="json") for s in job.steps]).splitlines()
    assert lines[0].split() == ["JobID", "JobName", "State", "ExitCode", "Elapsed", "NodeList"]
    assert [line.split() for line in lines[1:]] == [["2.batch", "batch", "CANCELLED", "0:15", "0:08", "node2"],
                                                     ["2.0", "sleep", "CANCELLED", "0:15", "0:08", "node2"]]


def test_a_pending_job_shows_its_place_in_the_partition_queue():
    """Lab recording (Slurm 22.05): job 7 waits for Resources behind job 6 (higher priority)."""
    from cockpit.slurm_priority import with_priority_ranks
    from screens.render.slurm import detail

    doc = json.loads((FIXTURES / "recorded/22.05/squeue.json").read_text())
    jobs = {j.job_id: j for j in with_priority_ranks(parse.parse_jobs(doc))}
    row = {c.title: c.cell(jobs[7]) for c in COLUMNS}
    assert row["NODELIST(REASON)"] == "(Resources) waits for free resources; priority 2nd of 2 in debug"
    text = detail(jobs[7])
    assert "4294901753 (2nd of 2 pending in debug)" in text
    held = [line.split() for line in detail(jobs[8]).splitlines() if line.startswith("priority")]
    assert held == [["priority", "0"]]  # held: priority 0 competes with nobody, no place given


def test_detail_times_count_from_the_moment_shown():
    """Replay passes the recorded moment: 'submitted ... (2m ago)' is what the live detail said then."""
    from datetime import timedelta

    from screens.render.slurm import detail

    (job,) = [j for j in parse.parse_jobs(json.loads((FIXTURES / "recorded/22.05/squeue.json").read_text()))
              if j.job_id == 7]
    then = job.submit_time + timedelta(minutes=2)
    submitted = next(line for line in detail(job, now=then).splitlines() if line.startswith("submitted"))
    assert submitted.endswith("(2m ago)")
