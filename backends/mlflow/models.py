"""Snapshot items for the `mlflow` source (field names are part of the JSON contract)."""

from __future__ import annotations

from cockpit.snapshot import Item


class RunItem(Item):
    run_id: str
    experiment: str
    experiment_id: str
    name: str | None = None
    status: str
    start_time: str | None = None  # ISO 8601, UTC
    duration_s: float | None = None
    metrics: dict[str, float] = {}
    params: dict[str, str] = {}
    tags: dict[str, str] = {}  # tags of interest: slurm job id, pod, plan step

    def key(self) -> str:
        return self.run_id


class ModelVersionItem(Item):
    version: str
    run_id: str | None = None
    status: str | None = None
    source: str | None = None
    aliases: tuple[str, ...] = ()


class RegisteredModelItem(Item):
    name: str
    latest_versions: tuple[ModelVersionItem, ...] = ()
    aliases: dict[str, str] = {}

    def key(self) -> str:
        return self.name
