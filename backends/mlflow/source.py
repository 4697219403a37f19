"""The `mlflow` source: recent runs with key metrics, and registered models."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from backends.mlflow.models import ModelVersionItem, RegisteredModelItem, RunItem
from cockpit.hub import UnconfiguredSource
from cockpit.snapshot import FetchResult
from cockpit.sources import HINTS, env_value

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig, MlflowSettings

# Tags that link a run to the rest of the cockpit (set by workloads/ and plans).
LINK_TAGS = ("slurm_job_id", "k8s_pod", "k8s_namespace", "plan", "plan_step", "cockpit.source", "mlflow.runName")


def iso_ms(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def run_item(run: Any, experiment_names: dict[str, str]) -> RunItem:
    info, data = run.info, run.data
    end = info.end_time or None
    duration = ((end - info.start_time) / 1000.0) if (end and info.start_time) else None
    return RunItem(
        run_id=info.run_id,
        experiment=experiment_names.get(info.experiment_id, info.experiment_id),
        experiment_id=info.experiment_id,
        name=info.run_name,
        status=info.status,
        start_time=iso_ms(info.start_time),
        duration_s=duration,
        metrics={k: float(v) for k, v in data.metrics.items()},
        params=dict(data.params),
        tags={k: v for k, v in data.tags.items() if k in LINK_TAGS and k != "mlflow.runName"},
    )


class MlflowSource:
    name = "mlflow"

    def __init__(self, settings: "MlflowSettings") -> None:
        self.settings = settings
        self.tracking_uri = settings.tracking_uri
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import logging

                from mlflow.tracking import MlflowClient  # heavy import: only in a worker thread

                # Store migrations log at INFO to stderr; the cockpit's own output stays clean.
                for noisy in ("mlflow", "alembic"):
                    logging.getLogger(noisy).setLevel(logging.WARNING)
                self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            return self._client

    def _read(self) -> FetchResult:
        client = self.client()
        experiments = client.search_experiments()
        if self.settings.experiments:
            experiments = [e for e in experiments if e.name in self.settings.experiments]
        names = {e.experiment_id: e.name for e in experiments}
        runs = client.search_runs(
            list(names), max_results=self.settings.max_runs, order_by=["attributes.start_time DESC"]
        ) if names else []
        models = []
        try:
            for rm in client.search_registered_models():
                aliases = dict(getattr(rm, "aliases", {}) or {})
                by_version: dict[str, list[str]] = {}
                for alias, version in aliases.items():
                    by_version.setdefault(str(version), []).append(alias)
                models.append(RegisteredModelItem(
                    name=rm.name,
                    aliases={k: str(v) for k, v in aliases.items()},
                    latest_versions=tuple(
                        ModelVersionItem(version=str(v.version), run_id=v.run_id, status=v.status, source=v.source,
                                         aliases=tuple(sorted(by_version.get(str(v.version), []))))
                        for v in (rm.latest_versions or [])
                    ),
                ))
        except Exception as exc:  # a file store without a registry: runs still show
            models = []
            registry_error = str(exc)
        else:
            registry_error = None
        items = [run_item(r, names) for r in runs]
        return FetchResult.of(items, registered_models=models, experiments=sorted(names.values()),
                              registry_error=registry_error)

    async def fetch(self) -> FetchResult:
        return await asyncio.to_thread(self._read)


def resolve_settings(loaded: "LoadedConfig") -> "MlflowSettings | None":
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
    if settings.tracking_uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(settings.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowSource(settings)
