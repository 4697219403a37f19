"""Backend load at the default refresh settings, with 1 and with 10 viewers (issue 19, item 6).

One cockpit hub (the real runtime, built from a config with no refresh overrides) reading:
  - SLURM over its CLI transport: stub `squeue`/`scontrol`/`sinfo` that log each call and print
    Slurm 24.11's recorded answers (1,000 jobs scaled from them); each command is at least one
    RPC to slurmctld;
  - Kubernetes from the fake apiserver in a child process (benchmarks/kube_feed.py, 1,000 pods,
    5 pod updates a second), which counts the HTTP requests it gets (a watch is one request);
  - MLflow from a real `mlflow server` (empty SQLite store) when one can start here; its requests
    are counted at the cockpit's HTTP client (httpx), by the server's port.
Viewers are what an app or SSH session does on mount: each watches every collector. Each phase
runs on a fresh hub: the first 10 s (first lists, first fetches) are counted on their own, then
`seconds` more give the steady requests per minute.

    .venv/bin/python -m benchmarks.backend_load [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.keypress_latency import REPO, slurm_stubs, stub_calls


WARM_UP_S = 10.0  # the first lists and the first fetch of every source, reported on their own


def feed_count(feed: subprocess.Popen) -> int:
    """Requests the fake apiserver in `feed` has served so far."""
    feed.stdin.write("\n")
    feed.stdin.flush()
    return json.loads(feed.stdout.readline())["requests"]


async def phase(viewers: int, seconds: float, kubeconfig: Path, mlflow_uri: str | None, stubs: Path,
                feed: subprocess.Popen) -> dict:
    import httpx

    from cockpit.config import parse_config
    from cockpit.runtime import build_runtime

    port = mlflow_uri.rsplit(":", 1)[-1] if mlflow_uri else None
    counted = {"mlflow": 0}
    send = httpx.AsyncClient.send

    async def counting_send(self, request, *a, **kw):
        if port and str(request.url.port) == port:
            counted["mlflow"] += 1
        return await send(self, request, *a, **kw)

    httpx.AsyncClient.send = counting_send  # type: ignore[method-assign]
    text = (f"cockpit:\n  slurm:\n    transport: cli\n  kubernetes:\n    kubeconfig: {kubeconfig}\n"
            + (f"  mlflow:\n    tracking_uri: {mlflow_uri}\n" if mlflow_uri else ""))
    runtime = build_runtime(parse_config(text, "backend-load.yaml", env=dict(os.environ)))
    hub = runtime.hub
    unwatch = [c.watch() for _ in range(viewers) for c in hub.collectors.values()]
    hub.start()

    def counts() -> dict[str, int]:
        return {"slurm": len(stub_calls(stubs)), "kube": feed_count(feed), "mlflow": counted["mlflow"]}

    try:
        await asyncio.sleep(WARM_UP_S)
        warm = counts()
        await asyncio.sleep(seconds)
        end = counts()
    finally:
        for u in unwatch:
            u()
        fetches = {n: c.fetch_count for n, c in hub.collectors.items() if c.fetch_count}
        await runtime.close()
        httpx.AsyncClient.send = send  # type: ignore[method-assign]
    return {"warm_up": warm, "steady": {k: end[k] - warm[k] for k in end}, "fetches": fetches}


def measure(seconds: float = 30.0, viewer_counts: tuple[int, ...] = (1, 10), mlflow: bool = True) -> dict:
    """Requests per minute to slurmctld (Slurm commands), the apiserver and MLflow, per viewer count."""
    home = Path(tempfile.mkdtemp(prefix="cockpit-load-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(home / var.lower())
    for var in ("COCKPIT_CONFIG", "LIBVIRT_DEFAULT_URI", "KUBECONFIG", "MLFLOW_TRACKING_URI", "SLURM_CONF",
                "SLURMRESTD_URL", "SLURM_JWT"):
        os.environ.pop(var, None)
    server = None
    why_no_mlflow = None
    if mlflow:
        try:
            from backends.mlflow import lab

            server = lab.start_server(home / "mlflow")
        except Exception as exc:
            why_no_mlflow = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    else:
        why_no_mlflow = "skipped"
    per_minute = 60.0 / seconds
    out: dict = {"seconds": seconds, "mlflow_not_measured": why_no_mlflow, "viewers": {}}
    path = os.environ["PATH"]
    try:
        for viewers in viewer_counts:
            stubs = home / f"slurm-{viewers}"
            os.environ["PATH"] = f"{slurm_stubs(stubs, 1000)}{os.pathsep}{path}"
            feed = subprocess.Popen([sys.executable, "-m", "benchmarks.kube_feed", str(home / f"kc-{viewers}"),
                                     "--pods", "1000", "--rate", "5"], cwd=REPO, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
            try:
                ready = json.loads(feed.stdout.readline() or "{}")
                if "kubeconfig" not in ready:
                    raise RuntimeError("the fake apiserver (benchmarks/kube_feed.py) did not start")
                got = asyncio.run(phase(viewers, seconds, Path(ready["kubeconfig"]),
                                        server.uri if server else None, stubs, feed))
            finally:
                feed.communicate("", timeout=30)
            steady, warm = got["steady"], got["warm_up"]
            out["viewers"][viewers] = {
                "slurm_per_min": steady["slurm"] * per_minute, "kube_per_min": steady["kube"] * per_minute,
                "mlflow_per_min": steady["mlflow"] * per_minute if server else None,
                "warm_up": warm, "slurm_commands": sorted(set(stub_calls(stubs))), "fetches": got["fetches"]}
    finally:
        os.environ["PATH"] = path
        if server is not None:
            server.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--no-mlflow", action="store_true")
    a = ap.parse_args()
    m = measure(a.seconds, mlflow=not a.no_mlflow)
    print(f"requests per minute at the default refresh settings ({a.seconds:g} s per phase):")
    for viewers, v in m["viewers"].items():
        mlflow = "not measured: " + m["mlflow_not_measured"] if v["mlflow_per_min"] is None else f"{v['mlflow_per_min']:.0f}"
        print(f"  {viewers:>2} viewer(s): slurmctld (Slurm commands) {v['slurm_per_min']:.0f}, "
              f"Kubernetes apiserver {v['kube_per_min']:.0f}, MLflow {mlflow}; first {WARM_UP_S:g} s: {v['warm_up']}")
    print(f"  Slurm commands issued: {m['viewers'][1]['slurm_commands']}")


if __name__ == "__main__":
    main()
