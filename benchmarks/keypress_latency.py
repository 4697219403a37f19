"""Keypress to frame in the real cockpit app while SLURM and Kubernetes are busy (issue 19, item 1).

The real CockpitApp (Textual, headless, 160x48), built from a config by the real runtime, with:
  - the `slurm` source on its CLI transport, refreshing every 2 s: `squeue --json --states=all`
    answers 10,000 jobs, scaled up from what Slurm 24.11 really printed
    (tests/fixtures/slurm/recorded/24.11/squeue_all.json); 5% of them change between answers.
    The `squeue`/`scontrol`/`sinfo` on PATH are stubs that print files, so the bytes go through the
    real subprocess transport, orjson decode, parser, hub collector, snapshot and pane table;
  - the `kubernetes` source watching the fake apiserver (tests/fakes/kube_apiserver.py) in a
    child process (benchmarks/kube_feed.py) holding 1,000 pods and taking 50 pod updates a second.

Once both panes hold their data, the SLURM table gets focus and the benchmark sends `down`/`up`
keys as the terminal driver does (a Key event posted to the app), spaced 50 to 250 ms apart so
they land at every point of the refresh cycle. Latency is the time from posting the key to the
first frame the compositor hands to the driver (App._display) that shows the moved cursor.

    .venv/bin/python -m benchmarks.keypress_latency [--seconds 20] [--jobs 10000]

Goal (issue 19): p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RECORDED = REPO / "tests" / "fixtures" / "slurm" / "recorded" / "24.11"
SLURM_VERSION = "24.11.5"  # tests/fixtures/slurm/recorded/24.11/README.md


def rescheduled(job: dict) -> None:
    """What a scheduling pass does to a pending job's JSON: slurmctld rewrites its
    `last_sched_evaluation` (seen on a real 22.05 lab at every 2 s refresh; two such replies are
    in tests/fixtures/slurm/refresh/22.05). A plain int before v0.0.39, a number struct after."""
    value = job.get("last_sched_evaluation")
    if isinstance(value, dict):
        job["last_sched_evaluation"] = {**value, "number": (value.get("number") or 0) + 2}
    elif isinstance(value, int):
        job["last_sched_evaluation"] = value + 2


def scaled_squeue(n: int, generation: int, fixture: Path = RECORDED / "squeue_all.json") -> bytes:
    """`squeue --json` with n jobs cloned from a recorded answer; generation 1 changes the state of
    5% of them, and every pending job's last_sched_evaluation (as a scheduling pass does)."""
    doc = json.loads(fixture.read_text())
    seeds = doc["jobs"]
    jobs = []
    for i in range(n):
        job = copy.deepcopy(seeds[i % len(seeds)])
        job["job_id"] = 1000 + i
        if isinstance(job.get("array_job_id"), dict) and job["array_job_id"].get("number"):
            job["array_job_id"]["number"] = 1000 + i
        job["name"] = f"{job['name']}-{i % 97}"
        job["user_name"] = f"user{i % 23}"
        if generation and "PENDING" in str(job["job_state"]):
            rescheduled(job)
        if generation and i % 20 == 0:
            state = job["job_state"]
            flipped = "COMPLETED" if "RUNNING" in str(state) else "RUNNING"
            job["job_state"] = [flipped] if isinstance(state, list) else flipped
        jobs.append(job)
    doc["jobs"] = jobs
    return json.dumps(doc).encode()


STUB = """#!/bin/sh
# Stand-in for Slurm's {name}: prints what Slurm {version} printed (recorded), or the scaled queue.
D={dir}
echo "{name} $*" >> $D/calls
case "$*" in
  *--version*) echo "slurm {version}";;
  "--json --states=all"|"--json") exec cat $D/squeue.$(( $(date +%s) / 2 % 2 )).json;;
  "show nodes --json") exec cat {recorded}/scontrol_show_nodes.json;;
  "show partitions --json") exec cat {recorded}/scontrol_show_partitions.json;;
  "show config") echo "AccountingStorageType   = accounting_storage/none";;
  *) echo "{name} stub: unexpected arguments: $*" >&2; exit 2;;
esac
"""


def slurm_stubs(directory: Path, jobs: int) -> Path:
    """A bin directory whose squeue/scontrol/sinfo print the recorded + scaled answers."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for gen in (0, 1):
        (directory / f"squeue.{gen}.json").write_bytes(scaled_squeue(jobs, gen))
    for name in ("squeue", "scontrol", "sinfo"):
        path = bin_dir / name
        path.write_text(STUB.format(name=name, version=SLURM_VERSION, dir=directory, recorded=RECORDED))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def stub_calls(directory: Path) -> list[str]:
    """The Slurm commands the stubs in `directory` answered, one line each ("squeue --json ...")."""
    log = directory / "calls"
    return log.read_text().splitlines() if log.exists() else []


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def drive(seconds: float, jobs: int, kubeconfig: Path) -> dict:
    from textual import events

    from cockpit.config import parse_config
    from cockpit.runtime import build_runtime
    from screens.app import CockpitApp

    text = (f"cockpit:\n  slurm:\n    transport: cli\n    history_interval: 3600\n"
            f"  kubernetes:\n    kubeconfig: {kubeconfig}\n"
            f"  refresh:\n    slurm: {{interval: 2.0, min_interval: 0.5}}\n")
    loaded = parse_config(text, "keypress-bench.yaml", env=dict(os.environ))

    frames: list[tuple[float, int]] = []  # (when, slurm cursor row) of each frame sent to the driver

    class Probe(CockpitApp):
        table = None

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if renderable is not None and self.table is not None:
                frames.append((time.perf_counter(), self.table.cursor_row))
                waiter.set()

    waiter = asyncio.Event()
    app = Probe(build_runtime(loaded))
    latencies: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        t0 = time.perf_counter()
        slurm = kube = None
        while time.perf_counter() - t0 < 120:
            await asyncio.sleep(0.1)
            try:
                slurm = app.dashboard.pane("slurm").table("slurm")
                kube = app.dashboard.pane("kubernetes").table("kubernetes")
            except Exception:
                continue
            if slurm.row_count >= jobs and kube.row_count > 0:
                break
        else:
            raise RuntimeError(f"data never arrived: slurm rows {slurm and slurm.row_count}, "
                               f"kubernetes rows {kube and kube.row_count}")
        loaded_s = time.perf_counter() - t0
        slurm.focus()
        await pilot.pause()
        app.table = slurm
        fetches0 = {n: c.fetch_count for n, c in app.runtime.hub.collectors.items()}
        rng = random.Random(19)
        start = time.perf_counter()
        missed = 0
        while time.perf_counter() - start < seconds:
            await asyncio.sleep(rng.uniform(0.05, 0.25))
            row = slurm.cursor_row
            key, want = ("down", row + 1) if row < 5 else ("up", row - 1)
            frames.clear()
            waiter.clear()
            sent = time.perf_counter()
            app.post_message(events.Key(key, None))
            seen = None
            while seen is None and time.perf_counter() - sent < 5:
                try:
                    await asyncio.wait_for(waiter.wait(), 5)
                except asyncio.TimeoutError:
                    break
                waiter.clear()
                seen = next((t for t, r in frames if r == want), None)
            if seen is None:
                missed += 1
            else:
                latencies.append(seen - sent)
        fetches = {n: c.fetch_count - fetches0.get(n, 0) for n, c in app.runtime.hub.collectors.items()}
        rows = {"slurm": slurm.row_count, "kubernetes": kube.row_count}
    return {"keys": len(latencies), "missed": missed, "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95), "max_ms": 1000 * max(latencies),
            "data_loaded_s": loaded_s, "seconds": seconds, "fetches": fetches, "rows": rows}


def measure(seconds: float = 20.0, jobs: int = 10_000, pods: int = 1000, rate: float = 50.0) -> dict:
    """Runs the whole benchmark; returns p50/p95/max (ms), key counts and what the sources did."""
    home = Path(tempfile.mkdtemp(prefix="cockpit-keypress-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(home / var.lower())
    for var in ("COCKPIT_CONFIG", "LIBVIRT_DEFAULT_URI", "KUBECONFIG", "MLFLOW_TRACKING_URI", "SLURM_CONF",
                "SLURMRESTD_URL", "SLURM_JWT"):
        os.environ.pop(var, None)
    stubs = home / "slurm"
    os.environ["PATH"] = f"{slurm_stubs(stubs, jobs)}{os.pathsep}{os.environ['PATH']}"
    feed = subprocess.Popen([sys.executable, "-m", "benchmarks.kube_feed", str(home / "kubeconfig"),
                             "--pods", str(pods), "--rate", str(rate)], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        ready = json.loads(feed.stdout.readline() or "{}")
        if "kubeconfig" not in ready:
            raise RuntimeError("the fake apiserver (benchmarks/kube_feed.py) did not start")
        result = asyncio.run(drive(seconds, jobs, Path(ready["kubeconfig"])))
    finally:
        out, _ = feed.communicate("", timeout=30)
    tail = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    result["kube_events"] = tail[-1]["events"] if tail else None
    result["squeue_calls"] = sum(line.startswith("squeue ") for line in stub_calls(stubs))
    result.update(jobs=jobs, pods=pods, rate=rate)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    a = ap.parse_args()
    r = measure(a.seconds, a.jobs, a.pods, a.rate)
    if a.json:
        print(json.dumps(r))
        return
    print(f"SLURM {r['jobs']} jobs refreshed every 2 s ({r['squeue_calls']} squeue calls), Kubernetes {r['pods']} pods "
          f"at {r['rate']:g} events/s ({r['kube_events']} events); data in the panes after {r['data_loaded_s']:.1f} s")
    print(f"keypress to frame over {r['seconds']:g} s, {r['keys']} keys ({r['missed']} never drawn): "
          f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms (goal p95 < 50 ms)")
    print(f"fetches while measuring: {r['fetches']}; rows {r['rows']}")


if __name__ == "__main__":
    main()
