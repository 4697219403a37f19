"""A Kubernetes apiserver under load, in its own process: the fake apiserver
(tests/fakes/kube_apiserver.py, pinned to a real apiserver's recorded behaviour) holding --pods
pods, taking --rate pod updates a second (a restart count bumped) until stdin closes; each line read
from stdin is answered with the requests served so far: {"requests": N, "events": N}.

Run as a child by benchmarks/keypress_latency.py, so that the apiserver's own work does not run
on the cockpit's event loop (a real apiserver is another machine). Prints one JSON line once the
kubeconfig is written: {"kubeconfig": PATH}; on exit, {"requests": N, "events": N}.

    .venv/bin/python -m benchmarks.kube_feed KUBECONFIG [--pods 1000] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from benchmarks.kube_pods_watch import make_pod
from tests.fakes.kube_apiserver import NODE, POD, FakeApiServer


async def main(kubeconfig: Path, pods: int, rate: float) -> None:
    fake = FakeApiServer()
    await fake.start()
    for n in range(max(1, pods // 20)):
        fake.put(NODE, {"metadata": {"name": f"gpu-node-{n}"}, "status": {
            "capacity": {"nvidia.com/gpu": "8"}, "allocatable": {"nvidia.com/gpu": "8"},
            "conditions": [{"type": "Ready", "status": "True"}]}}, None)
    for i in range(pods):
        fake.put(POD, make_pod(i), f"team-{i % 10}")
    fake.write_kubeconfig(kubeconfig)
    print(json.dumps({"kubeconfig": str(kubeconfig)}), flush=True)

    loop = asyncio.get_running_loop()
    events, i = 0, 0

    def answer_until_eof() -> None:
        for _ in sys.stdin:
            print(json.dumps({"requests": len(fake.requests), "events": events}), flush=True)

    stdin_closed = loop.run_in_executor(None, answer_until_eof)
    restarts = [0] * pods
    step = 1.0 / rate
    next_at = loop.time()
    while not stdin_closed.done():
        i = (i * 7919 + 1) % pods  # a spread of pods, not one hot one
        restarts[i] += 1
        fake.put(POD, make_pod(i, restarts[i]), f"team-{i % 10}")
        events += 1
        next_at += step
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    print(json.dumps({"requests": len(fake.requests), "events": events}), flush=True)
    await fake.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("kubeconfig", type=Path)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0)
    a = ap.parse_args()
    asyncio.run(main(a.kubeconfig, a.pods, a.rate))
