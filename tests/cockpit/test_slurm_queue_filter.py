"""Queue filter and sort semantics (cockpit/slurm_queue.py) on parsed real 22.05 output."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backends.slurm.parse import parse_jobs
from cockpit.slurm_queue import FilterError, filter_jobs, queue_view, sort_jobs

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"


@pytest.fixture(scope="module")
def jobs():
    now = datetime.fromtimestamp(1795368826, tz=timezone.utc)
    recorded = parse_jobs(json.loads((FIXTURE / "v0.0.38" / "squeue.json").read_text()), now)
    newer = parse_jobs(json.loads((FIXTURE / "v0.0.41" / "squeue.json").read_text()), now)
    return recorded + newer


def ids(jobs):
    return [j.display_id for j in jobs]


def test_fields_codes_and_inversion(jobs):
    assert ids(filter_jobs(jobs, "user:bob")) == ["103_0", "103_[1-3%1]"]
    assert ids(filter_jobs(jobs, "state:PD user:root")) == ["2", "3_[2-3%2]", "7"]
    assert set(ids(filter_jobs(jobs, "s:running,f partition:gpu"))) == {"101", "103_0", "105"}
    assert ids(filter_jobs(jobs, "!user:root !user:alice")) == ["103_0", "103_[1-3%1]"]
    assert ids(filter_jobs(jobs, "reason:^Res")) == ["2", "102"]
    assert ids(filter_jobs(jobs, "node:node\\[1-2\\]")) == ["1", "101"]
    assert ids(filter_jobs(jobs, "!state:PD,R,CD,F")) == []


def test_free_text_regex_and_invert(jobs):
    assert ids(filter_jobs(jobs, "^train")) == ["101"]
    assert ids(filter_jobs(jobs, "held|fail")) == ["6", "7", "105"]  # names and states
    assert len(filter_jobs(jobs, "!^arr$")) == len(jobs) - 3
    assert len(filter_jobs(jobs, "!arr")) == len(jobs) - 4  # also the reason JobArrayTaskLimit
    assert filter_jobs(jobs, "") == jobs


@pytest.mark.parametrize("query, words", [("user:", None), ("colour:red", "unknown field"), ("(", "bad regular"),
                                          ("!", "nothing after")])
def test_bad_filters_name_the_term(jobs, query, words):
    if words is None:
        filter_jobs(jobs, query)  # an empty value is allowed: matches empty fields only
        return
    with pytest.raises(FilterError, match=words):
        filter_jobs(jobs, query)


def test_sort_by_any_column(jobs):
    by_id = ids(sort_jobs(jobs, "display_id"))
    assert by_id[:3] == ["1", "2", "3_[2-3%2]"] and by_id[-1] == "105"
    gpus = [j.gpus for j in sort_jobs(jobs, "gpus", descending=True)]
    assert gpus == sorted(gpus, reverse=True)
    started = sort_jobs(jobs, "start_time")
    assert all(j.start_time is None for j in started[-5:]) and started[0].start_time is not None
    assert ids(queue_view(jobs, "user:alice", "priority", descending=True))[0] == "101"
    names = [j.name for j in sort_jobs(jobs, "name")]
    assert names == sorted(names, key=str.lower)
