"""`make bench`: every figure of issue 19 in one table, with its goal, met or not, and beside it the
same work done by a bare Textual app or the plain tools on the same data.

Each piece runs in a fresh child process with a time limit (the whole run stays under about five
minutes); a piece whose dependency is missing (an `mlflow server`, a SLURM lab) gives a row that
says "not measured" and why, and the rest still run.

    .venv/bin/python -m benchmarks.bench [--quick] [--only startup,table,...]

Pieces: startup (benchmarks/startup.py), table (table_scale.py), slurm (slurm_queue.py),
keypress (keypress_latency.py), mlflow (mlflow_runs.py), snapshot (mlflow_runs.snapshot_figures),
squeue (a real `squeue --json`, when a SLURM lab or cluster answers), load (backend_load.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    figure: str
    measured: str
    goal: str
    met: bool | None  # None: not measured
    beside: str = ""


class NotMeasured(Exception):
    """A piece could not run here; the message says why."""


def child(call: str, timeout: float, env: dict[str, str] | None = None) -> dict:
    """Runs `call` (a Python expression returning a JSON-able value) in a fresh interpreter."""
    # Out at once after printing, as `cockpit` leaves (screens/app.py, run_app): a worker thread
    # still inside a backend call must not hold the interpreter's exit past the timeout.
    code = f"import json, asyncio, os, sys\n_r = {call}\nprint('\\n' + json.dumps(_r), flush=True)\nos._exit(0)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the fake apiserver or mlflow server it started too
        proc.communicate()
        raise NotMeasured(f"took over {timeout:g} s") from None
    if proc.returncode:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        raise NotMeasured(lines[-1][:160] if lines else f"exit {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def ms(v: float) -> str:
    return f"{v:.0f} ms" if v >= 10 else f"{v:.1f} ms"


# -- the pieces -------------------------------------------------------------------------------------
def startup(quick: bool) -> list[Row]:
    runs, idle = (2, 15.0) if quick else (3, 30.0)
    m = child(f"__import__('benchmarks.startup').startup.measure({runs}, {idle})", 300)
    bare, ours = 1000 * m["bare_first_frame_s"], 1000 * m["first_frame_s"]
    return [
        Row("first frame vs a bare Textual app", f"{ours:.0f} ms vs {bare:.0f} ms: {m['ratio']:.2f}x "
            f"(median of {runs}; CPU {1000 * m['first_frame_cpu_s']:.0f} vs {1000 * m['bare_first_frame_cpu_s']:.0f} ms: "
            f"{m['cpu_ratio']:.2f}x)", "≤ 1.5x", m["ratio"] <= 1.5,
            f"bare Textual app {bare:.0f} ms; config validated and sources built (after the first frame) at "
            f"{1000 * m['connected_s']:.0f} ms; first frame with VM data {1000 * m['data_frame_s']:.0f} ms; "
            f"both from bytecode ({m['bytecode']})"),
        Row("idle CPU, unchanged data (embedded default)", f"{m['idle_cpu_percent']:.2f}% of a core over "
            f"{m['idle_wall_s']:.0f} s", "< 0.5%", m["idle_cpu_percent"] < 0.5,
            "fetches: " + ", ".join(f"{k} {v}" for k, v in m["fetches"].items() if v)),
    ]


def table(quick: bool) -> list[Row]:
    m = child("asyncio.run(__import__('benchmarks.table_scale').table_scale.measure((10_000,), echo=False))", 120)
    f = m["10000"]
    return [Row("10,000-row table, 1% of rows change, until the frame", f"{ms(f['update_frame_ms'])} "
                f"(median of 15, to the frame the driver gets; CPU {ms(f['update_cpu_ms'])}, longest event-loop "
                f"stall {ms(f['loop_stall_ms'])}; the unchanged 99% the same Job objects, as the SLURM queue "
                f"reader hands a refresh)", "< 20 ms", f["update_frame_ms"] < 20,
                f"every item a new object (all 10,000 compared by value): {ms(f['update_frame_fresh_ms'])}, CPU "
                f"{ms(f['update_cpu_fresh_ms'])}; first fill {ms(f['first_fill_ms'])}, page down {ms(f['page_down_ms'])}")]


def slurm(quick: bool) -> list[Row]:
    repeat = 3 if quick else 5
    m = child(f"__import__('benchmarks.slurm_queue').slurm_queue.measure(10_000, {repeat})", 240)
    before = m["orjson_decode_ms"] + m["parse_all_ms"]
    return [
        Row("10,000 Slurm jobs: JSON decode + parse, a refresh (5% of jobs changed state, every pending one rescheduled)",
            f"{ms(m['refresh_ms'])} (envelope decode {ms(m['envelope_ms'])}, {m['reused']} jobs reused; "
            f"median of {repeat}); in the worker process {ms(m['worker_refresh_ms'])} wall, "
            f"{ms(m['worker_main_cpu_ms'])} CPU in the cockpit's process", "< 100 ms", m["refresh_ms"] < 100,
            f"decoding all of the same {m['json_mb']:.0f} MB: orjson {ms(m['orjson_decode_ms'])} (+ parse_jobs "
            f"{ms(m['parse_all_ms'])} = {ms(before)}, the cockpit before), `json.loads` {ms(m['stdlib_decode_ms'])}"),
        Row("10,000 Slurm jobs: JSON decode + parse, the first reply (every job new)",
            f"{ms(m['cold_ms'])}; through QueueWorker {ms(m['worker_cold_ms'])} (read in a thread, the worker starts after)",
            "(once per source)", None, "later replies reuse the jobs whose JSON did not change"),
    ]


def squeue(quick: bool) -> list[Row]:
    """A real `squeue --json` on whatever cluster answers here (the lab's, or $SLURM_CONF's)."""
    if not shutil.which("squeue"):
        raise NotMeasured("no `squeue` installed")
    env = dict(os.environ)
    try:
        import yaml

        from cockpit.config import lab_config_file

        lab = lab_config_file()
        conf = (yaml.safe_load(lab.read_text()) or {}).get("cockpit", {}).get("slurm", {}).get("conf") \
            if lab.exists() else None
        if conf:
            env["SLURM_CONF"] = conf
    except Exception:
        pass
    times, jobs = [], 0
    for _ in range(3):
        t = time.perf_counter()
        try:
            done = subprocess.run(["squeue", "--json"], capture_output=True, text=True, timeout=10, env=env)
        except subprocess.TimeoutExpired:
            raise NotMeasured("`squeue --json` gave no answer in 10 s (no SLURM lab running?)") from None
        if done.returncode:
            raise NotMeasured(f"no SLURM cluster answers `squeue --json`: "
                              f"{(done.stderr.strip().splitlines() or ['exit ' + str(done.returncode)])[-1][:100]}")
        times.append(time.perf_counter() - t)
        jobs = len(json.loads(done.stdout).get("jobs", []))
    return [Row("plain `squeue --json` on the running lab (whole process)", f"{ms(1000 * statistics.median(times))} "
                f"for {jobs} jobs (median of 3)", "(reference)", None,
                "the lab's queue, not 10,000 jobs: the decode row above compares on the same data")]


def keypress(quick: bool) -> list[Row]:
    seconds = 10 if quick else 20
    m = child(f"__import__('benchmarks.keypress_latency').keypress_latency.measure({seconds})", 240)
    return [Row("keypress to frame while 10,000 jobs refresh every 2 s + 50 pod events/s",
                f"p50 {ms(m['p50_ms'])}, p95 {ms(m['p95_ms'])}, max {ms(m['max_ms'])} ({m['keys']} keys, "
                f"{m['missed']} never drawn)", "p95 < 50 ms", m["p95_ms"] < 50,
                f"{m['squeue_calls']} squeue calls, {m['kube_events']} pod events in the run")]


def mlflow(quick: bool) -> list[Row]:
    try:
        from backends.mlflow.lab import mlflow_executable

        mlflow_executable()
    except (ImportError, FileNotFoundError) as exc:
        raise NotMeasured(f"no `mlflow server` can start here: {exc}") from None
    repeat = 2 if quick else 3
    m = child(f"__import__('benchmarks.mlflow_runs').mlflow_runs.measure(1000, {repeat}, snapshots=False)", 240)
    f = m["first_rows"]
    beside = ", ".join(f"{n} {v:.2f} s" for n, v in f["beside_s"].items())
    if f["curl_s"] is not None:
        beside += f", curl {f['curl_s']:.2f} s"
    beside += "; CPU: " + ", ".join(f"{n} {v:.2f} s" for n, v in f["cpu_s"].items())
    rows = [Row("MLflow first rows in a fresh process (50 runs)", f"{f['ours_s']:.2f} s (imports {f['imports_s']:.2f} s, "
                f"mlflow imported: {'yes' if f['mlflow_imported'] else 'no'})", "< 0.3 s", f["ours_s"] < 0.3, beside)]
    for size, p in m["paging"].items():
        rows.append(Row(f"MLflow paging 1,000 runs, {size}/page", f"{p['ours_s']:.2f} s", "< 1 s", p["ours_s"] < 1,
                        f"plain httpx loop {p['plain_s']:.2f} s ({p['ours_s'] / p['plain_s']:.1f}x)"))
    return rows


def snapshot(quick: bool) -> list[Row]:
    repeat = 2 if quick else 3
    m = child(f"__import__('benchmarks.mlflow_runs').mlflow_runs.snapshot_figures({repeat})", 120)
    return [Row("`cockpit snapshot --format json`, embedded default", f"{m['seconds']:.2f} s (mlflow imported: "
                f"{'yes' if m['mlflow_imported'] else 'no'}; mlflow {m['status']})", "< 1 s", m["seconds"] < 1,
                "whole process: interpreter, imports, every source")]


def load(quick: bool) -> list[Row]:
    seconds = 20 if quick else 30
    m = child(f"__import__('benchmarks.backend_load').backend_load.measure({seconds})", 180)
    rows = []
    for viewers, v in m["viewers"].items():
        mlflow = (f"MLflow {v['mlflow_per_min']:.0f}" if v["mlflow_per_min"] is not None
                  else f"MLflow not measured: {m['mlflow_not_measured']}")
        w = v["warm_up"]
        rows.append(Row(f"backend load, default refresh, {viewers} viewer(s), requests/min",
                        f"slurmctld {v['slurm_per_min']:.0f} Slurm commands, apiserver {v['kube_per_min']:.0f} (watches stay open), {mlflow}",
                        "(published)", None,
                        f"first 10 s: {w['slurm']} commands, {w['kube']} apiserver, {w['mlflow']} MLflow requests; "
                        "turm: squeue every 2 s (30/min); Slurm-web: 30 s caches; stui: ~1/min"))
    return rows


PIECES: dict[str, tuple[str, Callable[[bool], list[Row]]]] = {
    "startup": ("first frame / idle CPU", startup),
    "table": ("10,000-row table update", table),
    "slurm": ("10,000 jobs decode + parse", slurm),
    "squeue": ("plain squeue --json", squeue),
    "keypress": ("keypress to frame under load", keypress),
    "mlflow": ("MLflow first rows / paging", mlflow),
    "snapshot": ("cockpit snapshot --format json", snapshot),
    "load": ("backend load, 1 and 10 viewers", load),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats and shorter windows")
    ap.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(PIECES)}")
    a = ap.parse_args()
    chosen = [p for p in a.only.split(",") if p] or list(PIECES)
    unknown = [p for p in chosen if p not in PIECES]
    if unknown:
        sys.exit(f"--only: unknown piece(s) {', '.join(unknown)}; choose from {', '.join(PIECES)}")
    rows: list[Row] = []
    started = time.perf_counter()
    for name in chosen:
        label, piece = PIECES[name]
        t = time.perf_counter()
        try:
            rows.extend(piece(a.quick))
        except NotMeasured as why:
            rows.append(Row(label, f"not measured: {why}", "", None))
        print(f"  {name}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    print(f"\nissue 19 figures, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{time.perf_counter() - started:.0f} s in all\n")
    print("| figure | measured | goal | met | beside it (bare Textual app / plain tools, same data) |")
    print("|---|---|---|---|---|")
    for r in rows:
        met = "—" if r.met is None else ("met" if r.met else "NOT met")
        print(f"| {r.figure} | {r.measured} | {r.goal} | {met} | {r.beside} |")
    measured = [r for r in rows if r.met is not None]
    print(f"\n{sum(r.met for r in measured)} of {len(measured)} goals met; "
          f"{sum(r.measured.startswith('not measured') for r in rows)} not measured")


if __name__ == "__main__":
    main()
