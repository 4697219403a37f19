"""Snapshot items for the `mlflow` source (field names are part of the JSON contract)."""

from __future__ import annotations

from cockpit.items import Item


class RunItem(Item):
    run_id: str
    experiment: str
    experiment_id: str
    name: str | None = None
    status: str  # RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_time: str | None = None  # ISO 8601, UTC
    end_time: str | None = None  # ISO 8601, UTC; None while running
    duration_s: float | None = None  # end - start; for a RUNNING run, time so far
    user: str | None = None
    metrics: dict[str, float] = {}  # latest value of every metric the run logged
    params: dict[str, str] = {}
    tags: dict[str, str] = {}  # tags of interest: the link tags (slurm job id, pod, plan step)

    def key(self) -> str:
        return self.run_id


class ExperimentItem(Item):
    experiment_id: str
    name: str
    lifecycle_stage: str = "active"
    last_update_time: str | None = None

    def key(self) -> str:
        return self.experiment_id


class ModelVersionItem(Item):
    version: str
    run_id: str | None = None
    status: str | None = None  # READY, PENDING_REGISTRATION, FAILED_REGISTRATION
    source: str | None = None
    aliases: tuple[str, ...] = ()
    created: str | None = None  # ISO 8601, UTC
    description: str | None = None

    def key(self) -> str:
        return self.version


class RegisteredModelItem(Item):
    name: str
    latest_versions: tuple[ModelVersionItem, ...] = ()
    aliases: dict[str, str] = {}  # alias -> version
    description: str | None = None
    updated: str | None = None  # ISO 8601, UTC

    def key(self) -> str:
        return self.name


class MetricPoint(Item):
    step: int
    value: float
    timestamp: int  # ms since the epoch

    def key(self) -> str:
        return str(self.step)


class RunDetail(Item):
    """One run in full (the detail screen): every param, tag and latest metric, top-level artifacts."""

    run: RunItem
    all_tags: dict[str, str] = {}
    artifact_uri: str | None = None
    artifacts: tuple[str, ...] = ()

    def key(self) -> str:
        return self.run.run_id


class RunsPage(Item):
    """One page of a run search; `next_page_token` is None on the last page."""

    runs: tuple[RunItem, ...] = ()
    next_page_token: str | None = None

    def key(self) -> str:
        return self.next_page_token or ""
