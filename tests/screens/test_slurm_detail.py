"""Job detail in human terms (screens/render/slurm.py detail and raw_fields) on real parsed jobs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from backends.slurm.parse import parse_jobs, parse_nodes
from screens.render.slurm import COLUMNS, detail, raw_fields

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"
NOW = datetime.fromtimestamp(1795368826, tz=timezone.utc)


def jobs():
    out = []
    for version in ("v0.0.38", "v0.0.41"):
        out += parse_jobs(json.loads((FIXTURES / version / "squeue.json").read_text()), NOW)
    return out


def test_detail_has_no_python_spellings_and_human_times() -> None:
    for job in jobs():
        text = detail(job)
        assert "None" not in text.replace("(None)", "") and "_s " not in text, text
        assert "time limit" in text
    year_limit = next(j for j in jobs() if j.time_limit_s == 31536000)
    assert "time limit  365 days" in detail(year_limit).replace("   ", "  ")
    unlimited = next(j for j in jobs() if j.time_limit_s is None)
    assert "UNLIMITED" in detail(unlimited)
    started = next(j for j in jobs() if j.start_time is not None)
    assert " ago)" in detail(started)


def test_pending_detail_says_why_first_and_what_is_short() -> None:
    nodes = parse_nodes(json.loads((FIXTURES / "v0.0.38" / "sinfo.json").read_text()))
    held = next(j for j in jobs() if j.reason == "JobHeldUser")
    lines = detail(held).splitlines()
    assert lines[1].startswith("why waiting") and "held by its user (release with l)" in lines[1]
    assert lines[2].startswith("what to do") and "release it when it should run" in lines[2]
    waiting = next(j for j in jobs() if j.reason == "Resources" and j.partition == "debug")
    assert "only 2 have them" in detail(waiting, nodes)


def test_queue_reason_column_pairs_code_and_words() -> None:
    reason = next(c for c in COLUMNS if c.title == "NODELIST(REASON)")
    held = next(j for j in jobs() if j.reason == "JobHeldUser")
    running = next(j for j in jobs() if j.state == "RUNNING")
    assert reason.cell(held) == "(JobHeldUser) held by its user (release with l)"
    assert reason.cell(running) == running.nodes


def test_raw_fields_drop_empty_values_and_unwrap_rest_numbers() -> None:
    raw = json.loads((FIXTURES / "v0.0.41" / "squeue.json").read_text())["jobs"][0]
    text = raw_fields(raw)
    assert "(null)" not in text and "=None" not in text and "'set'" not in text
    assert f"job_id={raw['job_id']}" in text
    scontrol = {"JobId": "7", "Account": "(null)", "TimeLimit": "UNLIMITED", "Reservation": ""}
    assert raw_fields(scontrol) == "JobId=7\nTimeLimit=UNLIMITED"
