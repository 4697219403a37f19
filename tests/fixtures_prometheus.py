"""The real Prometheus scraping `cockpit serve-metrics` on loopback, for every test directory
that needs one (import the fixtures in the test module or its conftest).

The processes are started and stopped by cockpit/lab/prometheus_lab.py (bounded start-up,
guaranteed stop), the same code the validate-hpc plan's lab profile uses.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from cockpit.lab import prometheus_lab

PROMETHEUS = prometheus_lab.prometheus_binary()
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="the prometheus binary is not installed (Debian package `prometheus`; "
    "scripts/setup.sh installs it)")


@pytest.fixture
def exporter() -> Iterator[str]:
    """`cockpit serve-metrics` on the embedded default config; its host:port."""
    try:
        with prometheus_lab.exporter() as address:
            yield address
    except prometheus_lab.MonitoringLabError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def prometheus(exporter: str) -> Iterator[str]:
    """Prometheus scraping the exporter every second; its base URL."""
    try:
        with prometheus_lab.prometheus(exporter) as url:
            yield url
    except prometheus_lab.MonitoringLabError as exc:
        pytest.fail(str(exc))
