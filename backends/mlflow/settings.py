"""The `cockpit.mlflow` settings of the mlflow source (validated with the rest of the config)."""

from __future__ import annotations

from pydantic import Field

from cockpit.source_types import Settings


class MlflowSettings(Settings):
    tracking_uri: str = Field(min_length=1)
    experiments: list[str] = Field(default_factory=list)  # empty: all
    metric_columns: list[str] = Field(default_factory=lambda: ["loss", "accuracy"])
    max_runs: int = Field(default=200, ge=1, le=100_000)
