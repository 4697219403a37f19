"""The `mlflow` source: experiments, the newest runs with their latest metrics, the registry.

MlflowClient blocks and `import mlflow` costs seconds, so both live in worker threads only: this
module imports nothing from mlflow at module level. The snapshot holds the newest `max_runs` runs,
read page by page; screens page further with `runs_page` (MLflow page tokens), so a store with
thousands of runs costs one page per screenful.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from backends.mlflow.models import (
    ExperimentItem, MetricPoint, ModelVersionItem, RegisteredModelItem, RunDetail, RunItem, RunsPage,
)
from cockpit.hub import UnconfiguredSource
from cockpit.snapshot import FetchResult
from cockpit.sources import HINTS, env_value

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig, MlflowSettings

T = TypeVar("T")

# Tags that link a run to the rest of the cockpit (set by workloads/ and plans). Exact names:
#   slurm_job_id   SLURM job id ("1234"; array tasks "1234_7")
#   k8s_pod        Kubernetes pod name, with k8s_namespace (default "default")
#   plan, plan_step  the plan name and the step id within it
#   cockpit.source   which cockpit component logged the run
LINK_TAGS = ("slurm_job_id", "k8s_pod", "k8s_namespace", "plan", "plan_step", "cockpit.source", "mlflow.runName")
# Tags of interest copied into snapshot items (mlflow.runName is already the item's name).
ITEM_TAGS = tuple(t for t in LINK_TAGS if t != "mlflow.runName")

PAGE_SIZE = 500  # runs per request while filling the snapshot
SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks")


def iso_ms(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def redact_uri(uri: str) -> str:
    """https://user:secret@host -> https://user:***@host (URIs show up in errors and snapshots)."""
    return re.sub(r"(://[^/:@]+):[^/@]+@", r"\1:***@", uri)


def check_tracking_uri(uri: str) -> None:
    """Reject a URI MLflow cannot use, naming the setting (before any slow import)."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    if scheme and scheme not in SCHEMES:
        raise ValueError(f"cockpit -> mlflow -> tracking_uri: unsupported scheme {scheme!r} in {redact_uri(uri)!r} "
                         f"(use http(s)://host:port for a tracking server or sqlite:///path/mlflow.db)")


def explain(exc: BaseException, uri: str) -> str:
    """One clear line for the pane instead of MLflow's multi-line retry tracebacks."""
    text = str(exc)
    shown = redact_uri(uri)
    if "Connection refused" in text or "Failed to establish a new connection" in text:
        return f"MLflow server at {shown} is not reachable (connection refused): is `mlflow server` running?"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"MLflow server host in {shown} cannot be resolved"
    if "timed out" in text.lower() or "Read timed out" in text:
        return f"MLflow server at {shown} did not answer in time"
    if "RESOURCE_DOES_NOT_EXIST" in text or "not found" in text.lower():
        return text.splitlines()[0]
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"MLflow ({shown}): {first}"


class MlflowError(RuntimeError):
    """A failed MLflow call, with a one-line explanation."""


def duration_s(info: Any) -> float | None:
    if not info.start_time:
        return None
    if info.end_time:
        return (info.end_time - info.start_time) / 1000.0
    if info.status == "RUNNING":
        return max(0.0, datetime.now(timezone.utc).timestamp() - info.start_time / 1000.0)
    return None


def run_item(run: Any, experiment_names: dict[str, str]) -> RunItem:
    info, data = run.info, run.data
    return RunItem(
        run_id=info.run_id,
        experiment=experiment_names.get(info.experiment_id, info.experiment_id),
        experiment_id=info.experiment_id,
        name=info.run_name,
        status=info.status,
        start_time=iso_ms(info.start_time),
        end_time=iso_ms(info.end_time),
        duration_s=duration_s(info),
        user=info.user_id or None,
        metrics={k: float(v) for k, v in data.metrics.items()},
        params=dict(data.params),
        tags={k: v for k, v in data.tags.items() if k in ITEM_TAGS},
    )


def version_item(v: Any, aliases: tuple[str, ...] = ()) -> ModelVersionItem:
    return ModelVersionItem(
        version=str(v.version), run_id=v.run_id or None, status=v.status, source=v.source,
        aliases=tuple(sorted(set(aliases) | set(getattr(v, "aliases", None) or ()))),
        created=iso_ms(getattr(v, "creation_timestamp", None)), description=v.description or None,
    )


def model_item(rm: Any) -> RegisteredModelItem:
    aliases = {k: str(v) for k, v in (getattr(rm, "aliases", None) or {}).items()}
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    return RegisteredModelItem(
        name=rm.name,
        aliases=dict(sorted(aliases.items())),
        latest_versions=tuple(version_item(v, tuple(by_version.get(str(v.version), ())))
                              for v in sorted(rm.latest_versions or [], key=lambda v: int(v.version))),
        description=rm.description or None,
        updated=iso_ms(getattr(rm, "last_updated_timestamp", None)),
    )


def paged(call: Callable[..., Any], limit: int | None = None, page_size: int = 1000, **kwargs: Any) -> list[Any]:
    """Follow MLflow page tokens until `limit` results or the last page."""
    out: list[Any] = []
    token = None
    while True:
        size = page_size if limit is None else min(page_size, limit - len(out))
        page = call(max_results=size, page_token=token, **kwargs)
        out.extend(page)
        token = page.token
        if not token or (limit is not None and len(out) >= limit):
            return out


class MlflowSource:
    name = "mlflow"

    def __init__(self, settings: "MlflowSettings") -> None:
        self.settings = settings
        self.tracking_uri = settings.tracking_uri
        self._client: Any = None
        self._lock = threading.Lock()
        self._experiment_names: dict[str, str] = {}
        # Whether more runs exist beyond the snapshot's max_runs (the screen pages on).
        self.truncated = False

    # -- the client, in worker threads only ----------------------------------------------------
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                # A server that is down must fail in seconds, not after MLflow's 7 retries with
                # backoff (minutes). The user's own settings win.
                os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
                os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
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

    # -- reads -------------------------------------------------------------------------------
    def _experiments(self, client: Any) -> list[Any]:
        return paged(client.search_experiments, page_size=1000)

    def _selected(self, experiments: list[Any]) -> list[Any]:
        wanted = self.settings.experiments
        return [e for e in experiments if not wanted or e.name in wanted]

    def _read(self, client: Any) -> FetchResult:
        experiments = self._experiments(client)
        self._experiment_names = {e.experiment_id: e.name for e in experiments}
        selected = self._selected(experiments)
        runs: list[Any] = []
        self.truncated = False
        if selected:
            ids = [e.experiment_id for e in selected]
            token = None
            while len(runs) < self.settings.max_runs:
                page = client.search_runs(ids, max_results=min(PAGE_SIZE, self.settings.max_runs - len(runs)),
                                          order_by=["attributes.start_time DESC"], page_token=token)
                runs.extend(page)
                token = page.token
                if not token:
                    break
            self.truncated = bool(token)
        models: list[RegisteredModelItem] = []
        registry_error = None
        try:
            models = [model_item(rm) for rm in paged(client.search_registered_models, page_size=100)]
        except Exception as exc:  # a store without a registry: runs still show
            registry_error = explain(exc, self.tracking_uri)
        present = {e.name for e in experiments}
        return FetchResult.of(
            [run_item(r, self._experiment_names) for r in runs],
            experiments=[ExperimentItem(experiment_id=e.experiment_id, name=e.name, lifecycle_stage=e.lifecycle_stage,
                                        last_update_time=iso_ms(getattr(e, "last_update_time", None)))
                         for e in selected],
            registered_models=models,
            registry_error=registry_error,
            missing_experiments=[n for n in self.settings.experiments if n not in present],
            metric_columns=list(self.settings.metric_columns),
            runs_truncated=self.truncated,
            tracking_uri=redact_uri(self.tracking_uri),
        )

    async def fetch(self) -> FetchResult:
        return await self.call(self._read)

    async def experiments(self) -> list[ExperimentItem]:
        def read(client: Any) -> list[ExperimentItem]:
            exps = self._experiments(client)
            self._experiment_names = {e.experiment_id: e.name for e in exps}
            return [ExperimentItem(experiment_id=e.experiment_id, name=e.name, lifecycle_stage=e.lifecycle_stage,
                                   last_update_time=iso_ms(getattr(e, "last_update_time", None))) for e in exps]

        return await self.call(read)

    def _runs_page(self, client: Any, experiment_ids: list[str] | None, filter_string: str,
                   order_by: list[str] | None, page_token: str | None, page_size: int) -> RunsPage:
        if experiment_ids is None or not self._experiment_names:
            exps = self._experiments(client)
            self._experiment_names = {e.experiment_id: e.name for e in exps}
            if experiment_ids is None:
                experiment_ids = [e.experiment_id for e in self._selected(exps)]
        if not experiment_ids:
            return RunsPage()
        page = client.search_runs(experiment_ids, filter_string=filter_string, max_results=page_size,
                                  order_by=order_by or ["attributes.start_time DESC"], page_token=page_token)
        return RunsPage(runs=tuple(run_item(r, self._experiment_names) for r in page), next_page_token=page.token or None)

    async def runs_page(self, experiment_ids: list[str] | None = None, filter_string: str = "",
                        order_by: list[str] | None = None, page_token: str | None = None,
                        page_size: int = 100) -> RunsPage:
        """One page of runs (newest first). Pass the previous page's `next_page_token` for the next."""
        return await self.call(lambda c: self._runs_page(c, experiment_ids, filter_string, order_by, page_token, page_size))

    async def run_detail(self, run_id: str) -> RunDetail:
        def read(client: Any) -> RunDetail:
            run = client.get_run(run_id)
            if run.info.experiment_id not in self._experiment_names:
                exp = client.get_experiment(run.info.experiment_id)
                self._experiment_names[exp.experiment_id] = exp.name
            try:
                artifacts = tuple(a.path + ("/" if a.is_dir else "") for a in client.list_artifacts(run_id))
            except Exception:  # artifact store unreachable: the run itself still shows
                artifacts = ()
            return RunDetail(run=run_item(run, self._experiment_names), all_tags=dict(run.data.tags),
                             artifact_uri=run.info.artifact_uri, artifacts=artifacts)

        return await self.call(read)

    async def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every logged point of one metric, by step (MLflow pages the REST calls itself)."""
        def read(client: Any) -> list[MetricPoint]:
            points = client.get_metric_history(run_id, key)
            return sorted((MetricPoint(step=m.step, value=float(m.value), timestamp=m.timestamp) for m in points),
                          key=lambda p: (p.step, p.timestamp))

        return await self.call(read)

    async def model_versions(self, name: str) -> list[ModelVersionItem]:
        """All versions of a registered model, newest first, with their aliases."""
        def read(client: Any) -> list[ModelVersionItem]:
            rm = client.get_registered_model(name)
            by_version: dict[str, list[str]] = {}
            for alias, version in (getattr(rm, "aliases", None) or {}).items():
                by_version.setdefault(str(version), []).append(alias)
            safe = name.replace("'", "\\'")
            versions = paged(client.search_model_versions, page_size=200, filter_string=f"name = '{safe}'")
            return [version_item(v, tuple(by_version.get(str(v.version), ())))
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
            return version_item(mv)

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
    from cockpit.config import MlflowSettings

    settings = loaded.config.cockpit.mlflow
    uri = env_value(loaded, "MLFLOW_TRACKING_URI")
    if settings is None and uri:
        return MlflowSettings(tracking_uri=uri)
    return settings


def build_source(loaded: "LoadedConfig") -> Any:
    settings = resolve_settings(loaded)
    if settings is None:
        return UnconfiguredSource("mlflow", HINTS["mlflow"])
    check_tracking_uri(settings.tracking_uri)
    if settings.tracking_uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(settings.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowSource(settings)
