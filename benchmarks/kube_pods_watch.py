"""Benchmark: 5,000 pods with 1% changing every second, through the whole Kubernetes path.

fake apiserver (in-process aiohttp) -> kubernetes-asyncio watch -> informer -> KubeSource ->
hub Collector snapshot -> pane row cells (screens/render/kubernetes.py COLUMNS).

Prints: initial list+sync time, event-to-row latency (write on the apiserver until the changed
pod's row cells are computed from a published snapshot) p50/p95/max, and time per update
(source work per watch event; building and publishing one snapshot; computing the changed rows).
The fake apiserver shares the event loop, so its own cost is included in the latency.

    PYTHONPATH=. python benchmarks/kube_pods_watch.py [--pods 5000] [--seconds 10] [--coalesce 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends.kube.source import KubeSource  # noqa: E402
from cockpit.hub import Collector, Timing  # noqa: E402
from cockpit.kube_inference import percentile  # noqa: E402
from screens.render.kubernetes import COLUMNS  # noqa: E402
from tests.fakes.kube_apiserver import NODE, POD, FakeApiServer  # noqa: E402


def make_pod(i: int, restarts: int = 0) -> dict:
    return {"metadata": {"name": f"worker-{i:05d}", "namespace": f"team-{i % 10}",
                         "labels": {"training.kubeflow.org/job-name": f"job-{i // 8}",
                                    "training.kubeflow.org/job-role": "worker"}},
            "spec": {"nodeName": f"gpu-node-{i % 50}", "containers": [
                {"name": "worker", "image": "horovod/horovod:0.28.1",
                 "resources": {"limits": {"nvidia.com/gpu": 1, "cpu": "2", "memory": "8Gi"}}}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "worker", "ready": True, "restartCount": restarts, "state": {"running": {}}}]}}


def ms(values: list[float], q: float) -> str:
    v = percentile(values, q)
    if v is None:
        return "-"
    return f"{v * 1000:.1f} ms" if v >= 0.001 else f"{v * 1e6:.0f} us"


async def main(pods: int, seconds: float, coalesce: float, spread: bool) -> None:
    fake = FakeApiServer()
    await fake.start()
    for n in range(50):
        fake.put(NODE, {"metadata": {"name": f"gpu-node-{n}"}, "status": {
            "capacity": {"nvidia.com/gpu": "8"}, "allocatable": {"nvidia.com/gpu": "8"},
            "conditions": [{"type": "Ready", "status": "True"}]}}, None)
    for i in range(pods):
        fake.put(POD, make_pod(i), f"team-{i % 10}")
    tmp = Path(tempfile.mkdtemp())
    source = KubeSource(fake.write_kubeconfig(tmp / "kubeconfig"), coalesce_s=coalesce)
    collector = Collector(source, Timing(interval=3600))

    pending: dict[str, tuple[int, float]] = {}  # pod name -> (restarts written, t written)
    latencies: list[float] = []
    row_costs: list[float] = []
    publish_costs: list[float] = []

    def on_snapshot(snap) -> None:
        if not pending:
            return
        t0 = time.perf_counter()
        by_name = {}
        for name in list(pending):
            by_name[name] = pending[name]
        done = []
        for item in snap.items.values():
            want = by_name.get(item.name)
            if want is not None and item.restarts == want[0]:
                [c.cell(item) for c in COLUMNS]  # the row the pane would draw
                done.append(item.name)
                latencies.append(time.perf_counter() - want[1])
        for name in done:
            pending.pop(name, None)
        row_costs.append(time.perf_counter() - t0)

    collector.subscribe(on_snapshot)
    original_result = source.result

    def timed_result(*a, **kw):
        t0 = time.perf_counter()
        out = original_result(*a, **kw)
        publish_costs.append(time.perf_counter() - t0)
        return out

    source.result = timed_result  # type: ignore[method-assign]
    event_costs: list[float] = []
    original_event = source._on_pod_event

    def timed_event(etype, obj):
        t0 = time.perf_counter()
        original_event(etype, obj)
        if etype != "SYNC":
            event_costs.append(time.perf_counter() - t0)

    t_start = time.perf_counter()
    watch_task = asyncio.create_task(source.watch(collector.push, collector.poke))
    while "pods" not in source.informers:
        await asyncio.sleep(0.001)
    source.informers["pods"].on_event = timed_event
    while not (source._healthy_cache() and len(collector.snapshot.items) == pods):
        await asyncio.sleep(0.01)
    sync_s = time.perf_counter() - t_start

    rng = random.Random(7)
    restarts = [0] * pods
    per_tick = max(1, pods // 100)
    ticks = int(seconds)
    for _ in range(ticks):
        tick_start = time.perf_counter()
        for i in rng.sample(range(pods), per_tick):
            restarts[i] += 1
            name = f"worker-{i:05d}"
            pending[name] = (restarts[i], time.perf_counter())
            fake.put(POD, make_pod(i, restarts[i]), f"team-{i % 10}")
            if spread:  # changes spaced over the second instead of one burst
                await asyncio.sleep(1.0 / per_tick * 0.9)
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - tick_start)))
    await asyncio.sleep(0.5)
    watch_task.cancel()
    await collector.stop()
    await source.close()
    await fake.stop()

    changes = ticks * per_tick
    print(f"pods={pods} changes/s={per_tick} ({'spread over each second' if spread else 'one burst per second'}) "
          f"seconds={ticks} coalesce={coalesce * 1000:.0f} ms")
    print(f"initial list + watch sync: {sync_s:.2f} s")
    print(f"event-to-row latency ({len(latencies)}/{changes} seen): p50 {ms(latencies, 50)}, "
          f"p95 {ms(latencies, 95)}, max {ms(latencies, 100)}")
    print(f"source work per watch event: p50 {ms(event_costs, 50)}, p95 {ms(event_costs, 95)}")
    print(f"snapshot build per push ({len(publish_costs)} pushes): p50 {ms(publish_costs, 50)}, "
          f"p95 {ms(publish_costs, 95)}")
    print(f"find + draw-cells of changed rows per snapshot: p50 {ms(row_costs, 50)}, p95 {ms(row_costs, 95)}")
    if len(latencies) < changes:
        print(f"WARNING: {changes - len(latencies)} changes never reached a row")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--coalesce", type=float, default=0.05)
    ap.add_argument("--spread", action="store_true", help="space the changes over each second")
    args = ap.parse_args()
    asyncio.run(main(args.pods, args.seconds, args.coalesce, args.spread))
