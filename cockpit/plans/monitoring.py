"""The `monitoring` plan condition (TASK-044 "monitoring works"): the expected series come back
from a real Prometheus through the cockpit's reader (backends/prometheus).

Where the Prometheus is: the condition's `url`, else `cockpit.prometheus.url` / PROMETHEUS_URL,
else (with `lab: true`) a loopback stack started for this check, `cockpit serve-metrics` on the
plan's config scraped by the `prometheus` binary (cockpit/lab/prometheus_lab.py), stopped after
it. With none of these, or no binary for the lab stack, the check is "not checked" with why.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from backends.prometheus.client import PrometheusError, PrometheusReader, Series, redact_url
from cockpit.lab import prometheus_lab
from cockpit.plans.conditions import ConditionNotChecked, Outcome

if TYPE_CHECKING:
    from cockpit.plans.model import MonitoringCheck
    from cockpit.runtime import Runtime

POLL_S = 1.0


def _configured_url(runtime: "Runtime") -> str | None:
    reader = runtime.query.metric_history()
    return getattr(reader, "url", None)


async def _series(reader: PrometheusReader, expressions: list[str], within: float) -> dict[str, list[Series]]:
    """Each expression's result, polled until every one has a series or `within` passes."""
    deadline = time.monotonic() + within
    while True:
        found = {expr: await reader.query(expr) for expr in expressions}
        if all(found.values()) or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(POLL_S)


async def _check(url: str, spec: "MonitoringCheck", where: str) -> Outcome:
    reader = PrometheusReader(url, timeout=10.0)
    try:
        found = await _series(reader, spec.series, spec.within)
    except PrometheusError as exc:
        return Outcome(False, str(exc), {"value": 0})
    finally:
        await reader.close()
    counts = {expr: len(result) for expr, result in found.items()}
    missing = [expr for expr, n in counts.items() if n == 0]
    shown = ", ".join(f"{expr}: {n}" for expr, n in counts.items())
    outputs: dict[str, Any] = {"value": min(counts.values()), "series": counts, "prometheus": redact_url(url),
                               "sources_up": sorted({s.labels["source"] for r in found.values() for s in r
                                                     if "source" in s.labels})}
    if missing:
        return Outcome(False, f"{where}: no series for {', '.join(missing)} within {spec.within:g} s ({shown})",
                       outputs)
    return Outcome(True, f"{where}: {shown}", outputs)


async def check_monitoring(spec: "MonitoringCheck", runtime: "Runtime") -> Outcome:
    url = spec.url or _configured_url(runtime)
    if url:
        return await _check(url, spec, f"Prometheus at {redact_url(url)}")
    if not spec.lab:
        raise ConditionNotChecked("no Prometheus to ask: give monitoring.url, cockpit.prometheus.url or "
                                  "PROMETHEUS_URL (or lab: true to start a loopback one)")
    if prometheus_lab.prometheus_binary() is None:
        raise ConditionNotChecked("the prometheus binary is not installed here (Debian package `prometheus`; "
                                  "scripts/setup.sh installs it)")
    config = runtime.loaded.path
    stack = ExitStack()
    try:
        try:
            _, lab_url = await asyncio.to_thread(
                stack.enter_context, prometheus_lab.monitoring_stack(str(config) if config else None))
        except prometheus_lab.MonitoringLabError as exc:
            return Outcome(False, f"the loopback monitoring stack did not start: {exc}", {"value": 0})
        return await _check(lab_url, spec, "loopback serve-metrics scraped by Prometheus")
    finally:
        await asyncio.to_thread(stack.close)
