"""The `cockpit.prometheus` settings: which Prometheus to read history from, and how far back."""

from __future__ import annotations

from pydantic import Field, field_validator

from cockpit.source_types import Settings
from cockpit.values import parse_duration


class PrometheusSettings(Settings):
    url: str | None = Field(default=None, description="http(s)://host:9090 (default: $PROMETHEUS_URL)")
    history: float = Field(default=6 * 3600.0, description="how far back sparklines reach (`6h`, `90m`)")
    timeout: float = Field(default=10.0, gt=0, description="seconds per request")

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {v!r})")
        return v.rstrip("/") if v else v

    @field_validator("history", mode="before")
    @classmethod
    def _duration(cls, v: object) -> float:
        seconds = parse_duration(v) if isinstance(v, str) else float(v)  # type: ignore[arg-type]
        if not 60 <= seconds <= 90 * 86400:
            raise ValueError(f"must be between 1m and 90d (got {v!r})")
        return seconds
