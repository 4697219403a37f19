"""The mlflow adapter against a real `mlflow server` (see conftest.py)."""

from __future__ import annotations

import time

import pytest

from backends.mlflow import lab
from backends.mlflow.source import MlflowError, MlflowSource, build_source, redact_uri
from cockpit.config import parse_config
from cockpit.hub import Collector
from cockpit.mlflow_runs import filter_runs, parse_filter, search_filter
from cockpit.snapshot import Status
from cockpit.source_types import NotConfigured
from cockpit.sources import build_source as build_any_source

from .conftest import BULK_RUNS


async def test_snapshot_holds_runs_metrics_link_tags_and_experiments(logged, settings_for) -> None:
    source = MlflowSource(settings_for(experiments=["cockpit-tests"]))
    result = await source.fetch()
    by_name = {r.name: r for r in result.items.values()}
    # other tests of the session log more runs here (test_promote_alias) and delete to-delete (test_ops)
    assert {"train-a", "train-b", "no-accuracy", "still-running"} <= set(by_name)
    a = by_name["train-a"]
    assert a.run_id == logged["train_a"] and a.experiment == "cockpit-tests"
    assert a.status == "FINISHED" and a.duration_s is not None and a.duration_s >= 0
    assert a.start_time and a.start_time.endswith("+00:00")
    assert a.metrics == {"loss": pytest.approx(1.0 / 20), "accuracy": pytest.approx(19 / 20)}
    assert a.params == {"lr": "0.001", "epochs": "40"}
    assert a.tags == {"slurm_job_id": "42", "plan": "validate", "plan_step": "train"}  # no mlflow.* noise
    assert by_name["train-b"].tags == {"k8s_pod": "trainer-0", "k8s_namespace": "mlops"}
    running = by_name["still-running"]
    assert running.status == "RUNNING" and running.end_time is None and running.duration_s >= 0
    assert "accuracy" not in by_name["no-accuracy"].metrics
    sections = result.sections
    assert [e.name for e in sections["experiments"]] == ["cockpit-tests"]
    assert sections["metric_columns"] == ["loss", "accuracy"]
    assert sections["runs_truncated"] is False and sections["registry_error"] is None


@pytest.fixture(scope="module")
def all_bulk_runs(mlflow_server) -> list:
    """Every bulk run through the snapshot path (max_runs above the count: pages of 500)."""
    import asyncio

    from cockpit.config import MlflowSettings

    result = asyncio.run(MlflowSource(MlflowSettings(tracking_uri=mlflow_server.uri, experiments=["bulk"],
                                                     max_runs=BULK_RUNS + 100)).fetch())
    assert result.sections["runs_truncated"] is False
    return list(result.items.values())


async def test_max_runs_pages_through_the_newest_runs(all_bulk_runs, settings_for) -> None:
    assert len(all_bulk_runs) == BULK_RUNS
    small = await MlflowSource(settings_for(experiments=["bulk"], max_runs=150)).fetch()
    names = [r.name for r in small.items.values()]
    assert names[:2] == [f"bulk-{BULK_RUNS - 1:05d}", f"bulk-{BULK_RUNS - 2:05d}"] and len(names) == 150
    assert small.sections["runs_truncated"] is True


async def test_runs_page_follows_page_tokens_without_gaps(mlflow_server, settings_for) -> None:
    source = MlflowSource(settings_for(experiments=["bulk"]))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await source.runs_page(page_token=token, page_size=300)
        pages += 1
        seen.extend(r.run_id for r in page.runs)
        token = page.next_page_token
        if token is None:
            break
    assert pages == -(-BULK_RUNS // 300) and len(seen) == len(set(seen)) == BULK_RUNS


@pytest.mark.parametrize("text, expected", [
    ("status:failed", BULK_RUNS // 10),        # every 10th seeded run failed
    ("tag:slurm_job_id=1042", 1),
    ("bulk-0099", 10),                          # bulk-00990 .. bulk-00999
    ("status:finished metric:loss<0.0015", None),  # checked against the local filter below
])
async def test_server_side_filter_matches_the_local_filter(all_bulk_runs, settings_for, text, expected) -> None:
    source = MlflowSource(settings_for(experiments=["bulk"]))
    f = parse_filter(text)
    found: list = []
    token = None
    while True:
        page = await source.runs_page(filter_string=search_filter(f), page_token=token, page_size=500)
        found.extend(page.runs)
        if not (token := page.next_page_token):
            break
    local = {r.run_id for r in filter_runs(all_bulk_runs, f)}
    assert {r.run_id for r in found} == local
    if expected is not None:
        assert len(found) == expected


async def test_metric_history_and_run_detail(logged, settings_for) -> None:
    source = MlflowSource(settings_for())
    history = await source.metric_history(logged["train_a"], "loss")
    assert [p.step for p in history] == list(range(20))
    assert history[0].value == pytest.approx(1.0) and history[-1].value == pytest.approx(0.05)
    assert await source.metric_history(logged["no_acc"], "accuracy") == []  # the chosen metric is absent
    detail = await source.run_detail(logged["train_a"])
    assert detail.run.name == "train-a" and detail.all_tags["mlflow.runName"] == "train-a"
    assert "model/" in detail.artifacts


async def test_unknown_run_is_a_clear_error(mlflow_server, settings_for) -> None:
    source = MlflowSource(settings_for())
    with pytest.raises(MlflowError, match="0123456789abcdef0123456789abcdef"):
        await source.run_detail("0123456789abcdef0123456789abcdef")


async def test_server_down_is_an_error_state_within_seconds(settings_for) -> None:
    uri = f"http://127.0.0.1:{lab.free_port()}"
    collector = Collector(MlflowSource(settings_for(tracking_uri=uri)))
    started = time.monotonic()
    snap = await collector.fetch_once()
    assert snap.status is Status.ERROR
    assert "not reachable" in snap.error and uri in snap.error
    assert time.monotonic() - started < 15


def test_wrong_uri_scheme_names_the_setting() -> None:
    loaded = parse_config("cockpit:\n  mlflow:\n    tracking_uri: htp://mlflow:5000\n", "test.yaml", env={})
    with pytest.raises(ValueError, match=r"cockpit -> mlflow -> tracking_uri: unsupported scheme 'htp'"):
        build_source(loaded)
    broken = build_any_source("mlflow", loaded)  # the hub gets an error pane, not a crash
    assert "unsupported scheme" in broken.error


async def test_missing_experiment_is_reported_not_fatal(logged, settings_for) -> None:
    result = await MlflowSource(settings_for(experiments=["cockpit-tests", "nope"])).fetch()
    assert result.sections["missing_experiments"] == ["nope"] and result.items


def test_env_var_configures_the_source_and_config_wins(mlflow_server) -> None:
    only_env = parse_config("{}", "t", env={"MLFLOW_TRACKING_URI": mlflow_server.uri})
    assert build_source(only_env).tracking_uri == mlflow_server.uri
    nothing = parse_config("{}", "t", env={})
    with pytest.raises(NotConfigured):
        build_source(nothing)
    assert build_any_source("mlflow", nothing).hint.startswith("set cockpit.mlflow")


def test_redact_uri_hides_passwords() -> None:
    assert redact_uri("https://alice:s3cret@mlflow.example:443/x") == "https://alice:***@mlflow.example:443/x"
    assert redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
