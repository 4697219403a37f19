"""Pure run decisions: the filter language, its MLflow search string, comparison, links."""

from __future__ import annotations

import pytest

from backends.mlflow.models import RunItem
from cockpit.mlflow_runs import (
    FilterError, compare_runs, experiment_ids, filter_runs, parse_filter, run_links, search_filter,
)


def run(name: str, **kw) -> RunItem:
    base = dict(run_id=(name * 32)[:32], experiment="exp-a", experiment_id="1", name=name, status="FINISHED")
    return RunItem(**{**base, **kw})


RUNS = [
    run("alpha", metrics={"loss": 0.5, "accuracy": 0.8}, tags={"slurm_job_id": "42"}),
    run("beta", status="FAILED", metrics={"loss": 0.05}, experiment="exp-b", experiment_id="2"),
    run("gamma", status="RUNNING", tags={"k8s_pod": "p-0"}),
]


@pytest.mark.parametrize("text, names", [
    ("", ["alpha", "beta", "gamma"]),
    ("status:failed", ["beta"]),
    ("status:running,failed", ["beta", "gamma"]),
    ("exp:exp-b", ["beta"]),
    ("tag:slurm_job_id", ["alpha"]),
    ("tag:slurm_job_id=43", []),
    ("metric:loss<0.1", ["beta"]),           # gamma has no loss: it does not match, no crash
    ("metric:accuracy>=0.8", ["alpha"]),
    ("ALP", ["alpha"]),
    ("a status:finished", ["alpha"]),
    ("exp~b$", ["beta"]),                    # the regex form the prompt advertises
    ("!exp:exp-a", ["beta"]),
    ("metric.loss<0.1", ["beta"]),
    ("tag.slurm_job_id:42", ["alpha"]),
    ("duration>1h", []),                     # no run has a duration: nothing, no crash
])
def test_filter_matches(text, names) -> None:
    assert [r.name for r in filter_runs(RUNS, parse_filter(text))] == names


def test_filter_matches_json_dicts_too() -> None:
    items = [r.model_dump(mode="json") for r in RUNS]
    assert [r["name"] for r in filter_runs(items, parse_filter("status:failed"))] == ["beta"]


@pytest.mark.parametrize("text, message", [
    ("status:bogus", "'status:bogus': unknown status 'bogus'"),
    ("metric:loss<<1", "metric:NAME<VALUE"),
    ("tag:", "nothing after 'tag:'"),
    ("tag:a b=c'", "unknown field 'b'"),  # one grammar: `=` is a field operator everywhere
    ("exp~(", "'exp~\\(': bad regex"),
    ("colour:red", "unknown field 'colour'.*metric.KEY"),
    ("metric.loss>high", "'high' is not a number"),
    ("name>3", "name is text"),
])
def test_bad_filter_words_name_the_word(text, message) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(text)


def test_search_filter_string() -> None:
    f = parse_filter("status:failed tag:slurm_job_id=4'2 metric:loss<0.5 bulk")
    assert search_filter(f) == ("attributes.status = 'FAILED' AND tags.`slurm_job_id` = '4\\'2' AND "
                                "metrics.`loss` < 0.5 AND attributes.run_name ILIKE '%bulk%'")
    assert search_filter(parse_filter("status:failed,killed")) == ""  # no OR in MLflow: narrowed locally
    assert search_filter(parse_filter("tag:plan")) == "tags.`plan` LIKE '%'"
    # What MLflow cannot say stays local: regexes and negations add no clause.
    assert search_filter(parse_filter("exp~x !status:failed name~^a metric.loss>=0.5")) == "metrics.`loss` >= 0.5"
    assert search_filter(parse_filter("tag.plan:demo")) == "tags.`plan` = 'demo'"


def test_experiment_ids_resolve_names() -> None:
    exps = [{"experiment_id": "1", "name": "exp-a"}, {"experiment_id": "2", "name": "exp-b"}]
    assert experiment_ids(parse_filter("exp:exp-b"), exps) == ["2"]
    assert experiment_ids(parse_filter("x"), exps) is None
    assert experiment_ids(parse_filter("exp~b"), exps) is None  # a regex searches all, narrowed locally
    assert experiment_ids(parse_filter("exp:exp-a,exp-b"), exps) == ["1", "2"]
    with pytest.raises(FilterError, match="unknown experiment 'nope'"):
        experiment_ids(parse_filter("exp:nope"), exps)


def test_compare_rows_mark_differences_and_deltas() -> None:
    rows = {(r.section, r.key): r for r in compare_runs(RUNS[0], RUNS[1])}
    assert rows[("metric", "loss")].delta == pytest.approx(-0.45) and rows[("metric", "loss")].differs
    assert rows[("metric", "accuracy")].b is None and rows[("metric", "accuracy")].delta is None
    assert not rows[("run", "name")].a == rows[("run", "name")].b
    assert rows[("tag", "slurm_job_id")].a == "42" and rows[("tag", "slurm_job_id")].b is None


def test_links_from_tags() -> None:
    links = run_links({"slurm_job_id": "42", "k8s_pod": "trainer-0", "k8s_namespace": "mlops",
                       "plan": "validate", "plan_step": "train"})
    assert [(l.source, l.key) for l in links] == [("slurm", "42"), ("kubernetes", "mlops/trainer-0"),
                                                   ("plans", "validate#train")]
    assert run_links({"k8s_pod": "p"})[0].key == "default/p"
    assert run_links({}) == []
