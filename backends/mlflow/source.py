"""The `mlflow` source: experiments, the newest runs with their latest metrics, the registry.

Reads never `import mlflow` (seconds of start-up): a tracking server (http/https) is read over
its REST API with httpx on the event loop (rest.py), a local SQLite store (the embedded default)
with the standard library's sqlite3 in a worker thread (sqlite_store.py). MLflow's own client,
imported lazily in a worker thread, is used only for writes (register, aliases, delete), for the
other store kinds (file:, postgresql, mysql, databricks), and for what the SQLite reader does not
do (a search filter string, another sort order, a non-local artifact store).

The snapshot holds the newest `max_runs` runs, read page by page; screens page further with
`runs_page` (MLflow page tokens), so a store with thousands of runs costs one page per screenful.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from backends.mlflow.convert import (
    ITEM_TAGS, LINK_TAGS, experiment_from_json, model_from_json, point_from_json, run_from_json, version_from_json,
)
from backends.mlflow.errors import MlflowError, explain, redact_uri
from backends.mlflow.models import (
    ExperimentItem, MetricPoint, ModelVersionItem, RegisteredModelItem, RunDetail, RunItem, RunsPage,
)
from cockpit.source_types import NotConfigured, env_value
from cockpit.snapshot import FetchResult

if TYPE_CHECKING:
    from backends.mlflow.rest import RestReader
    from backends.mlflow.sqlite_store import SqliteStore
    from backends.mlflow.settings import MlflowSettings
    from cockpit.config import LoadedConfig

T = TypeVar("T")

__all__ = ["ITEM_TAGS", "LINK_TAGS", "MlflowError", "MlflowSource", "build_source", "redact_uri"]

PAGE_SIZE = 500  # runs per request while filling the snapshot
SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks")


def scheme_of(uri: str) -> str:
    return uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def check_tracking_uri(uri: str) -> None:
    """Reject a URI MLflow cannot use, naming the setting (before any slow import)."""
    scheme = scheme_of(uri)
    if scheme and scheme not in SCHEMES:
        raise ValueError(f"cockpit -> mlflow -> tracking_uri: unsupported scheme {scheme!r} in {redact_uri(uri)!r} "
                         f"(use http(s)://host:port for a tracking server or sqlite:///path/mlflow.db)")


def as_json(entity: Any) -> dict[str, Any]:
    """An MLflow client entity as the REST JSON the converters read (client path only)."""
    import json

    from mlflow.utils.proto_json_utils import message_to_json

    return json.loads(message_to_json(entity.to_proto()))


class MlflowSource:
    name = "mlflow"

    def __init__(self, settings: "MlflowSettings") -> None:
        self.settings = settings
        self.tracking_uri = settings.tracking_uri
        self._client: Any = None
        self._lock = threading.Lock()
        self._experiment_names: dict[str, str] = {}
        self._experiments: list[ExperimentItem] | None = None
        # Whether more runs exist beyond the snapshot's max_runs (the screen pages on).
        self.truncated = False
        scheme = scheme_of(self.tracking_uri)
        self.rest: RestReader | None = None
        self.store: SqliteStore | None = None
        if scheme in ("http", "https"):
            from backends.mlflow.rest import RestReader

            self.rest = RestReader(self.tracking_uri)
        elif scheme == "sqlite":
            from backends.mlflow.sqlite_store import SqliteStore

            self.store = SqliteStore(self.tracking_uri)

    @property
    def reads_with(self) -> str:
        """How reads go: 'rest', 'sqlite' or 'client' (MLflow's client, other store kinds)."""
        return "rest" if self.rest else "sqlite" if self.store else "client"

    async def close(self) -> None:
        if self.rest is not None:
            await self.rest.close()

    # -- MLflow's client: writes, and reads of other store kinds; worker threads only -------------
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                # A server that is down must fail in seconds, not after MLflow's 7 retries with
                # backoff (minutes). The user's own settings win.
                os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
                os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
                import mlflow  # noqa: F401  - heavy (seconds): only ever imported in a worker thread
                from mlflow.tracking import MlflowClient

                from backends.mlflow.lab import quiet_mlflow_logging

                quiet_mlflow_logging()
                self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            return self._client

    def call_sync(self, fn: Callable[[Any], T]) -> T:
        """Run fn(client) here (already in a worker thread); failures become one clear line."""
        client = self.client()
        try:
            return fn(client)
        except MlflowError:
            raise
        except Exception as exc:
            raise MlflowError(explain(exc, self.tracking_uri)) from exc

    async def call(self, fn: Callable[[Any], T]) -> T:
        return await asyncio.to_thread(self.call_sync, fn)

    async def _local(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A SQLite read in a worker thread; unexpected failures become one clear line."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except MlflowError:
            raise
        except Exception as exc:
            raise MlflowError(f"MLflow store {redact_uri(self.tracking_uri)}: {exc}") from exc

    # -- reads -------------------------------------------------------------------------------
    async def _all_experiments(self) -> list[ExperimentItem]:
        if self.rest:
            found = await self.rest.experiments()
        elif self.store:
            found = await self._local(self.store.experiments)
        else:
            from backends.mlflow.paging import paged

            found = await self.call(lambda c: [experiment_from_json(as_json(e))
                                               for e in paged(c.search_experiments, page_size=1000)])
        self._experiments = found
        self._experiment_names = {e.experiment_id: e.name for e in found}
        return found

    def _selected(self, experiments: list[ExperimentItem]) -> list[ExperimentItem]:
        wanted = self.settings.experiments
        return [e for e in experiments if not wanted or e.name in wanted]

    async def _search(self, experiment_ids: list[str], filter_string: str = "", order_by: list[str] | None = None,
                      page_token: str | None = None, max_results: int = 100) -> tuple[list[RunItem], str | None]:
        names = self._experiment_names
        if self.rest:
            return await self.rest.search_runs(experiment_ids, names, filter_string=filter_string, order_by=order_by,
                                               page_token=page_token, max_results=max_results)
        if self.store and (self.store.handles(filter_string, order_by) or not self.store.path.exists()):
            # (no store yet: nothing to filter, and MLflow's client would create and migrate one)
            return await self._local(self.store.search_runs, experiment_ids, names, page_token=page_token,
                                     max_results=max_results)

        def read(client: Any) -> tuple[list[RunItem], str | None]:
            page = client.search_runs(experiment_ids, filter_string=filter_string, max_results=max_results,
                                      order_by=order_by or ["attributes.start_time DESC"], page_token=page_token)
            return [run_from_json(as_json(r), names) for r in page], page.token or None

        return await self.call(read)

    async def _registered_models(self) -> list[RegisteredModelItem]:
        if self.rest:
            return await self.rest.registered_models()
        if self.store:
            return await self._local(self.store.registered_models)
        from backends.mlflow.paging import paged

        return await self.call(lambda c: [model_from_json(as_json(m))
                                          for m in paged(c.search_registered_models, page_size=100)])

    async def fetch(self) -> FetchResult:
        experiments = await self._all_experiments()
        selected = self._selected(experiments)
        runs: list[RunItem] = []
        token = None
        if selected:
            ids = [e.experiment_id for e in selected]
            while len(runs) < self.settings.max_runs:
                page, token = await self._search(ids, page_token=token,
                                                 max_results=min(PAGE_SIZE, self.settings.max_runs - len(runs)))
                runs.extend(page)
                if not token:
                    break
        self.truncated = bool(token)
        models: list[RegisteredModelItem] = []
        registry_error = None
        try:
            models = await self._registered_models()
        except MlflowError as exc:  # a store without a registry: runs still show
            registry_error = str(exc)
        present = {e.name for e in experiments}
        return FetchResult.of(
            runs,
            experiments=selected,
            registered_models=models,
            registry_error=registry_error,
            missing_experiments=[n for n in self.settings.experiments if n not in present],
            metric_columns=list(self.settings.metric_columns),
            runs_truncated=self.truncated,
            tracking_uri=redact_uri(self.tracking_uri),
        )

    async def experiments(self) -> list[ExperimentItem]:
        return await self._all_experiments()

    async def runs_page(self, experiment_ids: list[str] | None = None, filter_string: str = "",
                        order_by: list[str] | None = None, page_token: str | None = None,
                        page_size: int = 100) -> RunsPage:
        """One page of runs (newest first). Pass the previous page's `next_page_token` for the next."""
        # The experiments of the last snapshot (or this call's first read) name the runs and, with
        # no ids given, pick the configured ones: paging costs one request per page, not two.
        if self._experiments is None or (experiment_ids is not None
                                         and not set(experiment_ids) <= set(self._experiment_names)):
            await self._all_experiments()
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in self._selected(self._experiments or [])]
        if not experiment_ids:
            return RunsPage()
        runs, token = await self._search(experiment_ids, filter_string, order_by, page_token, page_size)
        return RunsPage(runs=tuple(runs), next_page_token=token)

    async def run_detail(self, run_id: str) -> RunDetail:
        if self.rest:
            return await self.rest.run_detail(run_id, self._experiment_names)
        if self.store:
            from backends.mlflow.sqlite_store import local_artifacts

            run, tags, artifact_uri = await self._local(self.store.run, run_id, self._experiment_names)
            local = await asyncio.to_thread(local_artifacts, artifact_uri)
            artifacts: tuple[str, ...] = () if local is None else local
            if local is None:  # artifacts in a remote store (s3, gs, ...): MLflow's client lists them
                try:
                    artifacts = await self.call(lambda c: tuple(a.path + ("/" if a.is_dir else "")
                                                                for a in c.list_artifacts(run_id)))
                except MlflowError:  # artifact store unreachable: the run itself still shows
                    pass
            return RunDetail(run=run, all_tags=tags, artifact_uri=artifact_uri, artifacts=artifacts)

        def read(client: Any) -> RunDetail:
            run = client.get_run(run_id)
            if run.info.experiment_id not in self._experiment_names:
                exp = client.get_experiment(run.info.experiment_id)
                self._experiment_names[exp.experiment_id] = exp.name
            try:
                artifacts = tuple(a.path + ("/" if a.is_dir else "") for a in client.list_artifacts(run_id))
            except Exception:  # artifact store unreachable: the run itself still shows
                artifacts = ()
            return RunDetail(run=run_from_json(as_json(run), self._experiment_names), all_tags=dict(run.data.tags),
                             artifact_uri=run.info.artifact_uri, artifacts=artifacts)

        return await self.call(read)

    async def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every logged point of one metric, by step (paged over REST)."""
        if self.rest:
            return await self.rest.metric_history(run_id, key)
        if self.store:
            return await self._local(self.store.metric_history, run_id, key)

        def read(client: Any) -> list[MetricPoint]:
            points = client.get_metric_history(run_id, key)
            return sorted((point_from_json({"step": m.step, "value": m.value, "timestamp": m.timestamp}) for m in points),
                          key=lambda p: (p.step, p.timestamp))

        return await self.call(read)

    async def model_versions(self, name: str) -> list[ModelVersionItem]:
        """All versions of a registered model, newest first, with their aliases."""
        if self.rest:
            return await self.rest.model_versions(name)
        if self.store:
            return await self._local(self.store.model_versions, name)

        def read(client: Any) -> list[ModelVersionItem]:
            from backends.mlflow.paging import paged

            rm = client.get_registered_model(name)
            by_version: dict[str, list[str]] = {}
            for alias, version in (getattr(rm, "aliases", None) or {}).items():
                by_version.setdefault(str(version), []).append(alias)
            safe = name.replace("'", "\\'")
            versions = paged(client.search_model_versions, page_size=200, filter_string=f"name = '{safe}'")
            return [version_from_json(as_json(v), tuple(by_version.get(str(v.version), ())))
                    for v in sorted(versions, key=lambda v: -int(v.version))]

        return await self.call(read)

    # -- writes (called by cockpit.ops.mlflow, audited there) ------------------------------------
    def register_version_sync(self, run_id: str, artifact_path: str, model_name: str) -> ModelVersionItem:
        def write(client: Any) -> ModelVersionItem:
            run = client.get_run(run_id)  # clear "run not found" before anything is created
            source = self._model_source(client, run, artifact_path)
            from mlflow.exceptions import MlflowException

            try:
                client.get_registered_model(model_name)
            except MlflowException as exc:
                if getattr(exc, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
                    raise
                client.create_registered_model(model_name)
            mv = client.create_model_version(model_name, source=source, run_id=run_id)
            return version_from_json(as_json(mv))

        return self.call_sync(write)

    def _model_source(self, client: Any, run: Any, artifact_path: str) -> str:
        """Where the run's model lives: an artifact folder of the run, or (MLflow 3) a logged
        model the run produced under that name."""
        path = artifact_path.strip("/")
        parent, _, leaf = path.rpartition("/")
        listed = client.list_artifacts(run.info.run_id, parent or None)
        if any(a.path.rstrip("/").rpartition("/")[2] == leaf for a in listed):
            return f"runs:/{run.info.run_id}/{path}"
        try:
            logged = client.search_logged_models(experiment_ids=[run.info.experiment_id],
                                                 filter_string=f"source_run_id = '{run.info.run_id}'")
        except Exception:  # older servers: no logged models
            logged = []
        for model in logged:
            if model.name == path:
                return f"models:/{model.model_id}"
        raise MlflowError(f"run {run.info.run_id} has no model artifact at {path!r} "
                          f"(artifacts: {', '.join(a.path for a in listed) or 'none'})")

    def alias_version_sync(self, model_name: str, alias: str) -> str | None:
        """The version an alias points at now; None when the model or the alias does not exist."""
        def read(client: Any) -> str | None:
            from mlflow.exceptions import MlflowException

            try:
                return str(client.get_model_version_by_alias(model_name, alias).version)
            except MlflowException as exc:
                if getattr(exc, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                    return None
                raise

        return self.call_sync(read)

    def version_metric_sync(self, model_name: str, version: str, metric: str) -> tuple[str, float | None]:
        """(run id, latest value of `metric` in that run) of one model version; None when the run
        did not log the metric."""
        def read(client: Any) -> tuple[str, float | None]:
            mv = client.get_model_version(model_name, version)
            if not mv.run_id:
                raise MlflowError(f"model {model_name} version {version} comes from no run, so it has no {metric!r}")
            value = client.get_run(mv.run_id).data.metrics.get(metric)
            return mv.run_id, None if value is None else float(value)

        return self.call_sync(read)

    def set_alias_sync(self, model_name: str, alias: str, version: str) -> None:
        self.call_sync(lambda c: c.set_registered_model_alias(model_name, alias, version))

    def delete_alias_sync(self, model_name: str, alias: str) -> str:
        def write(client: Any) -> str:
            version = str(client.get_model_version_by_alias(model_name, alias).version)
            client.delete_registered_model_alias(model_name, alias)
            return version

        return self.call_sync(write)

    def delete_run_sync(self, run_id: str) -> dict[str, str]:
        def write(client: Any) -> dict[str, str]:
            run = client.get_run(run_id)
            client.delete_run(run_id)
            return {"run_id": run_id, "name": run.info.run_name or "", "was": run.info.status}

        return self.call_sync(write)


def resolve_settings(loaded: "LoadedConfig") -> "MlflowSettings | None":
    """Config wins; MLFLOW_TRACKING_URI alone also configures the source (the ecosystem's setting)."""
    from backends.mlflow.settings import MlflowSettings

    settings = loaded.config.cockpit.mlflow
    uri = env_value(loaded, "MLFLOW_TRACKING_URI")
    if settings is None and uri:
        return MlflowSettings(tracking_uri=uri)
    return settings


def build_source(loaded: "LoadedConfig") -> Any:
    settings = resolve_settings(loaded)
    if settings is None:
        raise NotConfigured()
    check_tracking_uri(settings.tracking_uri)
    if settings.tracking_uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(settings.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowSource(settings)
