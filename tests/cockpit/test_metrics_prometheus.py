"""`cockpit serve-metrics` scraped by the real Prometheus server (Debian's `prometheus` package,
installed by scripts/setup.sh) on loopback, every second, and queried back over its HTTP API.

The exporter runs on the embedded default config: the libvirt test driver's demo host, whose
VMs hold GPUs by passthrough. What Prometheus answers must name, for each GPU, the VM whose
definition holds it, as the `vms` source reports it (VM -> its PCI functions, the other direction
from the `gpus` source the exporter labels from).
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

PROMETHEUS = shutil.which("prometheus")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed "
                       "(Debian package `prometheus`; scripts/setup.sh installs it)"),
]
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0  # both start within a few seconds; the limit is for a loaded 2-core VM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, or fail (with stderr) when none comes in time."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line:
                return line.strip()
        if proc.poll() is not None:
            break
    stop(proc)
    err = proc.stderr.read() if proc.stderr else ""
    pytest.fail(f"serve-metrics printed no address within {timeout:g} s (exit {proc.returncode}): {err[-2000:]}")


@pytest.fixture
def exporter() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "serve-metrics", "--listen", "127.0.0.1:0"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc, START_TIMEOUT_S)
        address = line.rsplit("http://", 1)[-1].removesuffix("/metrics")
        assert address.startswith("127.0.0.1:"), line
        yield address
    finally:
        stop(proc)


@pytest.fixture
def prometheus(exporter: str, tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: cockpit\n    static_configs:\n"
        f"      - targets: ['{exporter}']\n"
    )
    listen = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen([PROMETHEUS or "prometheus", f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address={listen}",
                             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{listen}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited {proc.returncode}: {(tmp_path / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus not ready within {START_TIMEOUT_S:g} s")
            time.sleep(0.25)
        yield url
    finally:
        stop(proc)
        log.close()


def query(url: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def query_until(url: str, promql: str, want: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Poll until the query returns at least `want` series (the first scrapes take a second or two)."""
    deadline = time.monotonic() + timeout
    while True:
        result = query(url, promql)
        if len(result) >= want or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def vm_gpus_from_the_vms_source() -> dict[str, str]:
    """PCI function -> VM, as the libvirt `vms` source sees the demo host's domain definitions."""
    from cockpit.runtime import build_runtime

    async def fetch() -> dict[str, str]:
        runtime = build_runtime(sources=("vms",))
        try:
            snaps = await runtime.hub.fetch_all(timeout=30)
        finally:
            await runtime.close()
        assert snaps["vms"].status.value == "ok", snaps["vms"].error
        return {address: vm.name for vm in snaps["vms"].items.values() for address in vm.gpus}

    return asyncio.run(fetch())


def test_prometheus_scrapes_gpu_series_labelled_with_their_vm(prometheus: str) -> None:
    held_by = vm_gpus_from_the_vms_source()
    assert len(set(held_by.values())) >= 2, "the demo host should pass GPUs to several VMs"

    up = query_until(prometheus, 'up{job="cockpit"} == 1', want=1)
    assert up, "Prometheus never scraped the exporter successfully"

    gpus = query_until(prometheus, "cockpit_gpu_assigned", want=2)
    assert gpus, "no cockpit_gpu_assigned series in Prometheus"
    exported = {s["metric"]["gpu"]: (s["metric"].get("vm"), s["value"][1]) for s in gpus}
    held = {gpu: vm for gpu, (vm, value) in exported.items() if value == "1"}
    assert held, exported
    for gpu, (vm, value) in exported.items():
        # every GPU series names the VM that holds it; a GPU no VM holds has no vm label
        # (Prometheus drops empty labels) and the value 0
        assert vm == held_by.get(gpu), f"{gpu}: Prometheus says vm={vm!r}, libvirt says {held_by.get(gpu)!r}"
        assert value == ("1" if gpu in held_by else "0"), (gpu, value)

    # the labels join across systems: each held GPU with the state of its VM
    joined = query(prometheus, "cockpit_gpu_assigned * on(host, vm) group_left(state) cockpit_vm_state")
    assert {s["metric"]["gpu"]: s["metric"]["vm"] for s in joined} == held
    assert all(s["metric"]["state"] for s in joined)

    # the README's use-against-allocation queries are valid PromQL on this Prometheus
    query(prometheus, "max_over_time(cockpit_gpu_utilization_ratio[10m]) < 0.05 "
                      "and on(gpu, host, vm) cockpit_gpu_assigned == 1")
    query(prometheus, "cockpit_slurm_node_gpus_allocated / cockpit_slurm_node_gpus")

    sources = {s["metric"]["source"] for s in query(prometheus, "cockpit_source_up == 1")}
    assert {"vms", "gpus"} <= sources
