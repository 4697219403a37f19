"""A small async client for Prometheus's HTTP API (`/api/v1/query`, `/api/v1/query_range`).

Errors carry Prometheus's own message (`errorType: error` from the JSON envelope, e.g.
`bad_data: 1:5: parse error: ...`), or say plainly that the server is not reachable.
Reference: https://prometheus.io/docs/prometheus/latest/querying/api/
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx

from cockpit.source_types import NotConfigured, env_value

if TYPE_CHECKING:
    from backends.prometheus.settings import PrometheusSettings
    from cockpit.config import LoadedConfig

ADAPTER_NAME = "prometheus"
MAX_POINTS = 11_000  # Prometheus refuses a range query of more than 11,000 points per series


class PrometheusError(RuntimeError):
    """A failed query: Prometheus's own error, or why it could not be reached."""


def redact_url(url: str) -> str:
    """http://user:secret@host -> http://user:***@host (URLs show up in errors)."""
    return re.sub(r"(://[^/:@]+):[^/@]+@", r"\1:***@", url)


@dataclass(frozen=True)
class Series:
    """One series of a result: its labels and (unix time, value) points, oldest first."""

    labels: dict[str, str]
    points: list[tuple[float, float]] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]


def _number(text: str) -> float:
    try:
        return float(text)  # Prometheus sends values as strings: "0.5", "NaN", "+Inf"
    except ValueError:
        return math.nan


def parse_result(data: dict[str, Any]) -> list[Series]:
    """`data` of a successful reply (vector, matrix or scalar) as a list of Series."""
    kind, result = data.get("resultType"), data.get("result")
    if kind in ("scalar", "string"):
        return [Series({}, [(float(result[0]), _number(result[1]))])] if result else []
    out = []
    for entry in result or []:
        if "values" in entry:
            points = [(float(t), _number(v)) for t, v in entry["values"]]
        else:
            t, v = entry["value"]
            points = [(float(t), _number(v))]
        out.append(Series(dict(entry.get("metric") or {}), points))
    return out


def step_for(span_s: float, points: int) -> float:
    """A range step giving about `points` points over `span_s` (at least 1 s, under the cap)."""
    points = max(1, min(points, MAX_POINTS - 1))
    return max(1.0, math.ceil(span_s / points))


class PrometheusReader:
    """Reads one Prometheus server. `history_s` is how far back the cockpit's sparklines reach."""

    name = ADAPTER_NAME

    def __init__(self, url: str, *, history_s: float = 6 * 3600.0, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.history_s = history_s
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        shown = redact_url(self.url)
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            raise PrometheusError(f"Prometheus at {shown} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {shown} is not reachable: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(f"Prometheus at {shown}{path} answered HTTP {response.status_code} "
                                  f"without its JSON envelope: {response.text[:200]!r}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            kind = body.get("errorType") if isinstance(body, dict) else None
            raise PrometheusError(f"Prometheus ({shown}): {kind or 'error'}: {error or response.status_code}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise PrometheusError(f"Prometheus ({shown}): reply without data")
        return data

    async def query(self, promql: str, at: datetime | None = None) -> list[Series]:
        """An instant query: each series's value now (or at `at`)."""
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at.timestamp()
        return parse_result(await self._get("/api/v1/query", params))

    async def query_range(self, promql: str, start: datetime, end: datetime, step_s: float) -> list[Series]:
        """A range query: each series's points from start to end, every `step_s` seconds."""
        if end <= start:
            raise ValueError(f"range query: end {end.isoformat()} is not after start {start.isoformat()}")
        if (end - start).total_seconds() / step_s >= MAX_POINTS:
            raise ValueError(f"range query: a {step_s:g} s step over {end - start} exceeds {MAX_POINTS} points")
        params = {"query": promql, "start": start.timestamp(), "end": end.timestamp(), "step": step_s}
        return parse_result(await self._get("/api/v1/query_range", params))

    async def history(self, promql: str, points: int = 120, end: datetime | None = None) -> list[Series]:
        """The last `history_s` of a query, about `points` points per series (for a sparkline)."""
        end = end or datetime.now(timezone.utc)
        start = datetime.fromtimestamp(end.timestamp() - self.history_s, timezone.utc)
        return await self.query_range(promql, start, end, step_for(self.history_s, points))


def build_reader(loaded: "LoadedConfig") -> PrometheusReader:
    """The reader for `cockpit.prometheus` (url, or $PROMETHEUS_URL), or NotConfigured."""
    from backends.prometheus.settings import PrometheusSettings

    settings: PrometheusSettings = loaded.config.cockpit.prometheus or PrometheusSettings()
    url = settings.url or env_value(loaded, "PROMETHEUS_URL")
    if not url:
        raise NotConfigured("set cockpit.prometheus.url (or PROMETHEUS_URL) to read history from Prometheus")
    if not url.startswith(("http://", "https://")):
        raise NotConfigured(f"PROMETHEUS_URL must start with http:// or https:// (got {redact_url(url)!r})")
    return PrometheusReader(url, history_s=settings.history, timeout=settings.timeout)
