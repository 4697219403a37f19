"""The GPU detail screen (`enter` on a GPU row): the detail text, plus utilisation history read
back from the real Prometheus (Debian's package, scraping serve-metrics) when configured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Static

from cockpit.config import load_config
from cockpit.runtime import build_runtime
from screens.gpu_detail import GpuDetailScreen, history_line
from screens.render import gpus as gpu_render
from tests.cockpit.test_gpu_map import host_snapshots  # noqa: F401 - the demo host's real snapshots
from tests.fixtures_prometheus import exporter, needs_prometheus, prometheus  # noqa: F401 - fixtures
from tests.screens.host_app import Host


def test_enter_on_a_gpu_row_opens_it() -> None:
    assert gpu_render.DETAIL_SCREEN == "screens.gpu_detail:GpuDetailScreen"


def test_history_line_from_ratios() -> None:
    line = history_line(6 * 3600, [0.0, 0.5, float("nan"), 1.0])
    assert line.startswith("history 6h") and line.endswith("(max 100%)")
    assert gpu_render.sparkline([0, 50, 100], 60) in line
    assert "no samples" in history_line(3600, [float("nan")])


async def _body(runtime, item) -> str:
    screen = GpuDetailScreen(runtime, item)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        for _ in range(40):
            await pilot.pause(0.25)
            text = str(screen.query_one("#detail-body", Static).render())
            if "history" in text:
                break
        return text


async def test_without_prometheus_there_is_no_history_line(host_snapshots, tmp_path: Path) -> None:  # noqa: F811
    _, snapshots = host_snapshots
    config = tmp_path / "cockpit.yaml"
    config.write_text("cockpit: {}\n")
    runtime = build_runtime(load_config(str(config)), sources=())
    item = snapshots["gpus"].items["workstation/0000:01:00.0"]
    try:
        text = await _body(runtime, item)
    finally:
        await runtime.close()
    assert text.startswith("0000:01:00.0") and "history" not in text


@pytest.mark.slow
@needs_prometheus
async def test_history_comes_from_the_configured_prometheus(host_snapshots, prometheus: str,  # noqa: F811
                                                            tmp_path: Path) -> None:
    _, snapshots = host_snapshots
    config = tmp_path / "cockpit.yaml"
    config.write_text(f"cockpit:\n  prometheus: {{url: '{prometheus}', history: 10m}}\n")
    runtime = build_runtime(load_config(str(config)), sources=())
    item = snapshots["gpus"].items["workstation/0000:01:00.0"]
    try:
        await asyncio.sleep(2)  # a first scrape
        text = await _body(runtime, item)
    finally:
        await runtime.close()
    # the demo host has no NVML or guest telemetry: Prometheus holds no utilisation for it
    assert "history 10m  no samples in Prometheus" in text, text


async def test_an_unreachable_prometheus_says_so(host_snapshots, tmp_path: Path) -> None:  # noqa: F811
    _, snapshots = host_snapshots
    config = tmp_path / "cockpit.yaml"
    config.write_text("cockpit:\n  prometheus: {url: 'http://127.0.0.1:9', timeout: 2}\n")
    runtime = build_runtime(load_config(str(config)), sources=())
    try:
        text = await _body(runtime, snapshots["gpus"].items["workstation/0000:01:00.0"])
    finally:
        await runtime.close()
    assert "history      not available: Prometheus at http://127.0.0.1:9 is not reachable" in text, text


def test_detail_names_each_host_process_and_its_work():
    from backends.gpus.models import GpuItem, GpuProcess, NvmlReading
    from screens.render.gpus import detail

    item = GpuItem(pci_address="0000:41:00.0", host="ws", name="H100", vendor_id="10de", device_id="2330",
                   nvml=NvmlReading(utilization_pct=90, processes=(
                       GpuProcess(pid=4242, used_memory_mib=2048, command="python", owner_kind="slurm_job",
                                  owner_id="42", owner_detail="0", cgroup="/system.slice/slurmstepd.scope/job_42/step_0"),
                       GpuProcess(pid=7, command="Xorg", cgroup="/weird/place"))))
    text = detail(item)
    assert "pid 4242  python  2.0 GiB  SLURM job 42 step 0" in text
    assert "pid 7  Xorg  memory unknown  cgroup /weird/place" in text
