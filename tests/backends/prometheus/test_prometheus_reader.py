"""The Prometheus reader against the real Prometheus server (Debian's package) scraping
`cockpit serve-metrics` on loopback: instant and range queries, Prometheus's own errors, and the
query seam's GPU and SLURM history through a runtime configured with `cockpit.prometheus`."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from backends.prometheus.client import PrometheusError, PrometheusReader, step_for
from cockpit.config import load_config
from tests.fixtures_prometheus import exporter, needs_prometheus, prometheus  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, needs_prometheus]


async def _until(reader: PrometheusReader, promql: str, want: int, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await reader.query(promql)
        if len(result) >= want or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.5)


def test_reader_queries_history_and_reports_prometheus_errors(prometheus: str) -> None:
    async def go() -> None:
        reader = PrometheusReader(prometheus, history_s=600)
        try:
            up = await _until(reader, 'up{job="cockpit"} == 1', 1)
            assert up and up[0].labels["job"] == "cockpit" and up[0].values == [1.0]
            gpus = await _until(reader, "cockpit_gpu_assigned", 2)
            assert len({s.labels["gpu"] for s in gpus}) == len(gpus) >= 2
            await asyncio.sleep(3)  # a few more scrapes, so the range has several points
            end = datetime.now(timezone.utc)
            ranged = await reader.query_range("cockpit_gpu_assigned", end - timedelta(seconds=5), end, 1)
            assert {s.labels["gpu"] for s in ranged} == {s.labels["gpu"] for s in gpus}
            assert all(len(s.points) >= 2 and s.points == sorted(s.points) for s in ranged)
            history = await reader.history('cockpit_source_up{source="gpus"}', points=60)
            assert history and history[0].values[-1] == 1.0
            with pytest.raises(PrometheusError, match=r"bad_data: .*parse error"):
                await reader.query("cockpit_gpu_assigned{")
        finally:
            await reader.close()

    asyncio.run(go())


def test_unreachable_prometheus_is_named() -> None:
    async def go() -> None:
        reader = PrometheusReader("http://127.0.0.1:9", timeout=2)
        try:
            with pytest.raises(PrometheusError, match=r"127\.0\.0\.1:9 is not reachable"):
                await reader.query("up")
        finally:
            await reader.close()

    asyncio.run(go())


def test_query_seam_reads_gpu_history_from_the_configured_prometheus(prometheus: str, tmp_path: Any) -> None:
    from cockpit.runtime import build_runtime

    config = tmp_path / "cockpit.yaml"
    config.write_text(f"cockpit:\n  prometheus: {{url: '{prometheus}', history: 2m}}\n")

    async def go() -> None:
        runtime = build_runtime(load_config(str(config)), sources=())
        try:
            reader = runtime.query.metric_history()
            assert reader is not None and reader.history_s == 120
            gpus = {s.labels["gpu"] for s in await _until(reader, "cockpit_gpu_assigned", 2)}  # type: ignore[arg-type]
            assigned = await runtime.query.series_history("cockpit_gpu_assigned", by="gpu", points=30)
            assert set(assigned) == gpus and all(v in (0.0, 1.0) for vs in assigned.values() for v in vs)
            # the demo host has no NVML or guest telemetry: no utilisation series, but a valid query
            utilisation = await runtime.query.gpu_utilisation_history(points=30)
            assert set(utilisation) <= gpus
            assert all(0.0 <= v <= 1.0 for values in utilisation.values() for v in values)
            assert isinstance(await runtime.query.slurm_job_history(), dict)
        finally:
            await runtime.close()

    asyncio.run(go())


def test_no_prometheus_configured_means_no_history(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.runtime import build_runtime

    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    config = tmp_path / "cockpit.yaml"
    config.write_text("cockpit: {}\n")

    async def go() -> None:
        runtime = build_runtime(load_config(str(config)), sources=())
        try:
            assert runtime.query.metric_history() is None
            assert await runtime.query.gpu_utilisation_history() == {}
        finally:
            await runtime.close()

    asyncio.run(go())


def test_settings_refuse_bad_values(tmp_path: Any) -> None:
    from cockpit.errors import ConfigError

    config = tmp_path / "cockpit.yaml"
    config.write_text("cockpit:\n  prometheus: {url: 'prom:9090', history: 6h}\n")
    with pytest.raises(ConfigError, match=r"prometheus.*url|url.*http"):
        load_config(str(config))
    config.write_text("cockpit:\n  prometheus: {url: 'http://prom:9090', history: 10s}\n")
    with pytest.raises(ConfigError, match=r"history"):
        load_config(str(config))
    assert step_for(6 * 3600, 120) == 180
