"""The SQLite reader over the very file the test `mlflow server` serves (conftest.py): what it
reads must equal what the server answers over REST, and it never writes or creates a store."""

from __future__ import annotations

import pytest

from backends.mlflow.errors import MlflowError
from backends.mlflow.rest import RestReader
from backends.mlflow.sqlite_store import SqliteStore, sqlite_path, token_offset
from backends.mlflow.source import MlflowSource

from .conftest import BULK_RUNS


@pytest.fixture
def both(mlflow_server):
    return RestReader(mlflow_server.uri, env={}), SqliteStore(mlflow_server.db_uri)


async def test_experiments_equal_rest(both, logged) -> None:
    rest, store = both
    assert store.experiments() == await rest.experiments()
    await rest.close()


async def test_every_bulk_run_page_by_page_equals_rest(both) -> None:
    rest, store = both
    exps = await rest.experiments()
    names = {e.experiment_id: e.name for e in exps}
    ids = [e.experiment_id for e in exps if e.name == "bulk"]
    a_token = b_token = None
    total = 0
    while True:
        from_rest, a_token = await rest.search_runs(ids, names, page_token=a_token, max_results=500)
        from_file, b_token = store.search_runs(ids, names, page_token=b_token, max_results=500)
        assert [r.model_dump(exclude={"duration_s"}) for r in from_file] == \
            [r.model_dump(exclude={"duration_s"}) for r in from_rest]
        total += len(from_file)
        assert (a_token is None) == (b_token is None)
        if a_token is None:
            break
    assert total == BULK_RUNS
    await rest.close()


@pytest.fixture(scope="module")
def parity_model(mlflow_server, logged) -> str:
    """A registered model with two versions (one archived) and an alias, made by MLflow's client."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server.uri)
    name = "parity-model"
    client.create_registered_model(name, description="for the SQLite/REST comparison")
    for _ in range(2):
        client.create_model_version(name, source=f"runs:/{logged['train_a']}/model", run_id=logged["train_a"])
    client.transition_model_version_stage(name, "1", "Archived")
    client.set_registered_model_alias(name, "champion", "2")
    return name


async def test_logged_runs_history_detail_and_registry_equal_rest(both, logged, parity_model) -> None:
    rest, store = both
    names = {e.experiment_id: e.name for e in await rest.experiments()}
    ids = [logged["experiment_id"]]
    from_rest, _ = await rest.search_runs(ids, names, max_results=50)
    from_file, _ = store.search_runs(ids, names, max_results=50)
    assert [r.model_dump(exclude={"duration_s"}) for r in from_file] == \
        [r.model_dump(exclude={"duration_s"}) for r in from_rest]
    for key in ("loss", "accuracy", "absent"):
        assert store.metric_history(logged["train_a"], key) == await rest.metric_history(logged["train_a"], key)
    detail = await rest.run_detail(logged["train_a"], names)
    run, tags, artifact_uri = store.run(logged["train_a"], names)
    assert run.model_dump(exclude={"duration_s"}) == detail.run.model_dump(exclude={"duration_s"})
    assert tags == detail.all_tags and artifact_uri == detail.artifact_uri
    models = store.registered_models()
    assert models == await rest.registered_models()
    parity = next(m for m in models if m.name == parity_model)
    assert parity.aliases == {"champion": "2"} and len(parity.latest_versions) == 2  # one per stage
    for model in store.registered_models():
        assert store.model_versions(model.name) == await rest.model_versions(model.name)
    await rest.close()


def test_unknown_run_and_model_are_clear_errors(mlflow_server) -> None:
    store = SqliteStore(mlflow_server.db_uri)
    with pytest.raises(MlflowError, match="Run with id=0123 not found"):
        store.run("0123", {})
    with pytest.raises(MlflowError, match="Registered Model with name=nope not found"):
        store.model_versions("nope")
    with pytest.raises(MlflowError, match="invalid page token"):
        store.search_runs(["1"], {}, page_token="garbage!")


async def test_a_store_not_created_yet_reads_empty_and_stays_absent(tmp_path) -> None:
    from cockpit.config import MlflowSettings

    db = tmp_path / "data" / "mlflow.db"
    source = MlflowSource(MlflowSettings(tracking_uri=f"sqlite:///{db}"))
    result = await source.fetch()
    assert source.reads_with == "sqlite" and not result.items and result.sections["experiments"] == []
    assert result.sections["registered_models"] == [] and result.sections["registry_error"] is None
    page = await source.runs_page(experiment_ids=["0"], filter_string="attributes.status = 'FAILED'")
    assert page.runs == () and page.next_page_token is None  # (a filter needs MLflow's client: not for no store)
    assert not db.exists()  # reading never creates (or migrates) a store


def test_uri_forms() -> None:
    assert str(sqlite_path("sqlite:////abs/dir/mlflow.db")) == "/abs/dir/mlflow.db"
    assert str(sqlite_path("sqlite:///rel/mlflow.db")) == "rel/mlflow.db"
    assert str(sqlite_path("sqlite:////a%20b/m.db?timeout=5")) == "/a b/m.db"
    assert token_offset(None) == 0
