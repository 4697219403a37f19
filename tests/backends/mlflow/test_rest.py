"""The REST reader against the real `mlflow server` (conftest.py): paging past 1,000 runs, errors
as one line naming the server, credentials in headers only, and no `import mlflow` for reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backends.mlflow import lab
from backends.mlflow.errors import MlflowError
from backends.mlflow.rest import RestReader, split_credentials
from backends.mlflow.source import MlflowSource

from .conftest import BULK_RUNS

REPO = Path(__file__).resolve().parents[3]


async def bulk_id(reader: RestReader) -> str:
    return next(e.experiment_id for e in await reader.experiments() if e.name == "bulk")


async def test_paging_over_more_than_a_thousand_runs_with_page_tokens(mlflow_server) -> None:
    reader = RestReader(mlflow_server.uri, env={})
    exp = await bulk_id(reader)
    seen: list[str] = []
    starts: list[str] = []
    token, pages = None, 0
    while True:
        runs, token = await reader.search_runs([exp], {exp: "bulk"}, page_token=token, max_results=1000)
        pages += 1
        seen.extend(r.run_id for r in runs)
        starts.extend(r.start_time or "" for r in runs)
        if token is None:
            break
    await reader.close()
    assert BULK_RUNS > 1000 and pages == 2  # MLflow caps a page at 1,000 runs: the token carries on
    assert len(seen) == len(set(seen)) == BULK_RUNS
    assert starts == sorted(starts, reverse=True)  # newest first across the page boundary


async def test_unknown_experiment_is_a_clear_error(mlflow_server) -> None:
    reader = RestReader(mlflow_server.uri, env={})
    with pytest.raises(MlflowError, match=r"experiments/get: RESOURCE_DOES_NOT_EXIST: .*999999") as err:
        await reader.experiment_name("999999")
    assert mlflow_server.uri in str(err.value)
    await reader.close()


async def test_bad_filter_shows_mlflow_s_own_message(mlflow_server, settings_for) -> None:
    source = MlflowSource(settings_for(experiments=["bulk"]))
    with pytest.raises(MlflowError, match=r"runs/search: INVALID_PARAMETER_VALUE: Invalid comparator '<<<'") as err:
        await source.runs_page(filter_string="metrics.loss <<< 1")
    assert "\n" not in str(err.value)
    await source.close()


async def test_unknown_registered_model_is_a_clear_error(mlflow_server, settings_for) -> None:
    source = MlflowSource(settings_for())
    with pytest.raises(MlflowError, match=r"RESOURCE_DOES_NOT_EXIST: .*no-such-model"):
        await source.model_versions("no-such-model")
    await source.close()


async def test_server_down_names_the_server_without_its_password() -> None:
    port = lab.free_port()
    reader = RestReader(f"http://alice:s3cret@127.0.0.1:{port}", env={})
    with pytest.raises(MlflowError) as err:
        await reader.experiments()
    text = str(err.value)
    assert "not reachable" in text and f"alice:***@127.0.0.1:{port}" in text and "s3cret" not in text
    await reader.close()


def test_credentials_follow_mlflow_s_client() -> None:
    base, auth, headers = split_credentials("https://alice:s3cret@mlflow.example:8443/prefix/", {})
    assert base == "https://mlflow.example:8443/prefix" and isinstance(auth, httpx.BasicAuth) and headers == {}
    env = {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": "pw", "MLFLOW_TRACKING_TOKEN": "tok"}
    base, auth, headers = split_credentials("http://mlflow:5000", env)
    assert isinstance(auth, httpx.BasicAuth) and headers == {}  # username+password win over a token
    base, auth, headers = split_credentials("http://mlflow:5000", {"MLFLOW_TRACKING_TOKEN": "tok"})
    assert auth is None and headers == {"Authorization": "Bearer tok"}


@pytest.mark.parametrize("env, expected", [
    ({"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": "pw"}, "Basic Ym9iOnB3"),
    ({"MLFLOW_TRACKING_TOKEN": "tok"}, "Bearer tok"),
])
async def test_requests_carry_the_credentials_in_a_header(mlflow_server, env, expected) -> None:
    reader = RestReader(mlflow_server.uri, env=env)
    sent: list[httpx.Request] = []

    async def capture(request: httpx.Request) -> None:
        sent.append(request)

    reader._http().event_hooks["request"].append(capture)
    assert await reader.experiments()  # the server (no auth configured) ignores the header
    assert sent and sent[0].headers["authorization"] == expected
    assert "@" not in str(sent[0].url)
    await reader.close()


def test_reads_never_import_mlflow(mlflow_server, logged, tmp_path) -> None:
    """A fresh process: snapshot, a page, history, registry and detail over REST and from the
    SQLite file, then checks `mlflow` (and httpx's CLI) were never imported."""
    code = """
import asyncio, json, sys
from backends.mlflow.source import MlflowSource
from cockpit.config import MlflowSettings

async def main(uri, run_id):
    s = MlflowSource(MlflowSettings(tracking_uri=uri))
    snap = await s.fetch()
    page = await s.runs_page(page_size=10)
    history = await s.metric_history(run_id, "loss")
    detail = await s.run_detail(run_id)
    await s.close()
    return [s.reads_with, len(snap.items), len(page.runs), len(history), detail.run.name]

out = [asyncio.run(main(uri, sys.argv[3])) for uri in sys.argv[1:3]]
print(json.dumps({"results": out, "httpx_cli": "httpx._main" in sys.modules,
                  "mlflow_imported": any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules)}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code, mlflow_server.uri, mlflow_server.db_uri, logged["train_a"]],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["results"][0] == ["rest", 200, 10, 20, "train-a"]
    assert doc["results"][1] == ["sqlite", 200, 10, 20, "train-a"]
    assert doc["mlflow_imported"] is False
    assert doc["httpx_cli"] is False  # httpx without its command-line client (click, rich, pygments)


async def test_paging_costs_one_request_a_page(mlflow_server, settings_for) -> None:
    source = MlflowSource(settings_for(experiments=["bulk"]))
    await source.experiments()
    sent: list[str] = []

    async def capture(request: httpx.Request) -> None:
        sent.append(request.url.path.rsplit("/mlflow/", 1)[1])

    source.rest._http().event_hooks["request"].append(capture)
    token, pages = None, 0
    while True:
        page = await source.runs_page(page_token=token, page_size=500)
        pages += 1
        if not (token := page.next_page_token):
            break
    assert pages == 3 and sent == ["runs/search"] * 3  # no experiments/search per page
    await source.close()
