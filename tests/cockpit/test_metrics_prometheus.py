"""`cockpit serve-metrics` scraped by the real Prometheus server (Debian's `prometheus` package,
installed by scripts/setup.sh) on loopback, every second, and queried back over its HTTP API.

The exporter runs on the embedded default config: the libvirt test driver's demo host, whose
VMs hold GPUs by passthrough. What Prometheus answers must name, for each GPU, the VM whose
definition holds it, as the `vms` source reports it (VM -> its PCI functions, the other direction
from the `gpus` source the exporter labels from).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.fixtures_prometheus import exporter, needs_prometheus, prometheus  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, needs_prometheus]


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
