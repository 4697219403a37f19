"""Queue filter fields and order (cockpit/slurm_queue.py) on parsed real 22.05 and 24.11 output."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backends.slurm.parse import parse_jobs
from cockpit.filtering import FilterError
from cockpit.slurm_queue import filter_jobs, job_order

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
    assert ids(filter_jobs(jobs, "reason~^Res")) == ["2", "102"]
    assert ids(filter_jobs(jobs, "node~node\\[1-2\\]")) == ["1", "101"]
    assert ids(filter_jobs(jobs, "node:node[1-2]")) == ["1", "101"]  # `:` on text is a plain substring
    assert ids(filter_jobs(jobs, "reason:held")) == ids(filter_jobs(jobs, "reason~JobHeld"))  # the plain words too
    assert ids(filter_jobs(jobs, "!state:PD,R,CD,F")) == []


def test_free_text_regex_and_invert(jobs):
    assert ids(filter_jobs(jobs, "^train")) == ["101"]
    assert ids(filter_jobs(jobs, "held|fail")) == ["6", "7", "105"]  # names and states
    assert len(filter_jobs(jobs, "!^arr$")) == len(jobs) - 3
    assert len(filter_jobs(jobs, "!arr")) == len(jobs) - 4  # also the reason JobArrayTaskLimit
    assert filter_jobs(jobs, "") == jobs


def test_numbers_durations_and_times(jobs):
    with_gpus = filter_jobs(jobs, "gpus>0")
    assert with_gpus and all(j.gpus > 0 for j in with_gpus)
    assert {j.job_id for j in filter_jobs(jobs, "!gpus>0")} == {j.job_id for j in jobs} - {j.job_id for j in with_gpus}
    assert all(j.gpus >= 2 for j in filter_jobs(jobs, "gpu>=2"))
    long = filter_jobs(jobs, "limit>1:00:00")
    assert long and all(j.time_limit_s is None or j.time_limit_s > 3600 for j in long)
    assert filter_jobs(jobs, "limit>1h") == long
    assert all(j.time_used_s is not None and j.time_used_s > 0 for j in filter_jobs(jobs, "time>0"))
    assert all(j.submit_time is not None for j in filter_jobs(jobs, "submit>2000-01-01"))
    assert ids(filter_jobs(jobs, "id>=103 id<=103")) == ["103_0", "103_[1-3%1]"]


@pytest.mark.parametrize("query, words", [("user:", None), ("colour:red", "unknown field 'colour'"),
                                          ("(", "'\\(': bad regex"), ("!", "nothing after"),
                                          ("gpus>many", "'gpus>many': 'many' is not a number"),
                                          ("user>3", "user is text"), ("time>soon", "not a duration"),
                                          ("gpus>", "nothing after '>'")])
def test_bad_filters_name_the_term(jobs, query, words):
    if words is None:
        filter_jobs(jobs, query)  # an empty value is allowed: matches empty fields only
        return
    with pytest.raises(FilterError, match=words):
        filter_jobs(jobs, query)


def test_queue_order_is_numeric_and_keeps_arrays_together(jobs):
    order = ids(sorted(jobs, key=job_order))
    assert order[:5] == ["1", "2", "3_0", "3_1", "3_[2-3%2]"] and order[-1] == "105"
    assert order.index("103_0") + 1 == order.index("103_[1-3%1]")  # the pending rest after the split task
    assert [int(i.split("_")[0]) for i in order] == sorted(int(i.split("_")[0]) for i in order)


def test_rank_filters_the_next_pending_jobs_of_each_partition(jobs):
    from cockpit.slurm_priority import with_priority_ranks

    ranked = with_priority_ranks(jobs)
    firsts = filter_jobs(ranked, "rank:1")
    assert firsts and all(j.state == "PENDING" and j.priority_rank == 1 for j in firsts)
    # one first per partition at least, and no running or held job has a rank to match
    assert {j.partition for j in firsts} == {j.partition for j in ranked if j.priority_rank}
    assert filter_jobs(ranked, "rank>0 state:R") == []
    assert len(filter_jobs(ranked, "rank>=1")) == sum(1 for j in ranked if j.priority_rank)
