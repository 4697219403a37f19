"""The `monitoring` plan condition (TASK-044 "monitoring works") against the real Prometheus
(Debian's package) scraping `cockpit serve-metrics` on loopback, and its "not checked: <why>"
report when the binary is missing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import load_config
from cockpit.plans import conditions
from cockpit.plans.model import Condition
from tests.fixtures_prometheus import exporter, needs_prometheus, prometheus  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[3]


def evaluate(raw: dict[str, Any], tmp_path: Path, config_text: str | None = "cockpit: {}\n") -> conditions.Outcome:
    """One evaluation in a runtime on `config_text` (None: the embedded default, the libvirt test
    driver's demo host with GPUs)."""
    from cockpit.runtime import build_runtime

    config = tmp_path / "cockpit.yaml"
    if config_text is not None:
        config.write_text(config_text)

    async def go() -> conditions.Outcome:
        runtime = build_runtime(load_config(str(config) if config_text is not None else None), sources=())
        try:
            return await conditions.evaluate(Condition.model_validate(raw), runtime)
        finally:
            await runtime.close()

    return asyncio.run(go())


@pytest.mark.slow
@needs_prometheus
def test_series_come_back_from_the_given_prometheus(prometheus: str, tmp_path: Path) -> None:
    outcome = evaluate({"monitoring": {"url": prometheus}}, tmp_path)
    assert outcome.ok, outcome.detail
    series = outcome.outputs["series"]
    assert series["cockpit_gpu_info"] >= 2 and series["cockpit_source_up == 1"] >= 2, series
    assert {"vms", "gpus"} <= set(outcome.outputs["sources_up"])

    missing = evaluate({"monitoring": {"url": prometheus, "series": ["cockpit_gpu_info", "no_such_metric"],
                                       "within": "2s"}}, tmp_path)
    assert not missing.ok and "no series for no_such_metric" in missing.detail, missing.detail

    bad = evaluate({"monitoring": {"url": prometheus, "series": ["cockpit_gpu_info{"], "within": "1s"}}, tmp_path)
    assert not bad.ok and "bad_data" in bad.detail and "parse error" in bad.detail, bad.detail


@pytest.mark.slow
@needs_prometheus
def test_configured_prometheus_is_used_without_a_url(prometheus: str, tmp_path: Path) -> None:
    outcome = evaluate({"monitoring": {}}, tmp_path, f"cockpit:\n  prometheus: {{url: '{prometheus}'}}\n")
    assert outcome.ok and outcome.outputs["prometheus"] == prometheus, outcome.detail


@pytest.mark.slow
@needs_prometheus
def test_lab_starts_a_loopback_stack_and_stops_it(tmp_path: Path) -> None:
    before = set(os.listdir("/proc"))
    outcome = evaluate({"monitoring": {"lab": True}}, tmp_path, None)
    assert outcome.ok, outcome.detail
    assert outcome.outputs["prometheus"].startswith("http://127.0.0.1:")
    assert "loopback serve-metrics" in outcome.detail
    # both processes are gone: nothing we started survives the check
    survivors = []
    for pid in set(os.listdir("/proc")) - before:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "serve-metrics" in cmd or outcome.outputs["prometheus"].removeprefix("http://") in cmd:
            survivors.append(cmd)
    assert not survivors, survivors


def test_no_binary_is_not_checked_with_why(tmp_path: Path) -> None:
    """A one-step plan run with no `prometheus` on PATH: the seed is "not checked" with the reason,
    and the run passes (nothing was checked, nothing failed)."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "plan: monitoring-only\nsteps:\n  - id: series\n    assert:\n"
        "      - monitoring: {lab: true}\n        seed: 'TASK-044: monitoring works'\n")
    report = tmp_path / "report"
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin"), "PYTHONPATH": str(REPO),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("PROMETHEUS_URL", None)
    proc = subprocess.run([sys.executable, "-m", "cockpit", "--run", str(plan), "--report-dir", str(report)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = (report / "summary.md").read_text()
    row = next(line for line in summary.splitlines() if "TASK-044: monitoring works" in line)
    assert "⏭ not checked" in row and "prometheus binary is not installed" in row, row
