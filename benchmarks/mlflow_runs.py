"""MLflow figures of issue 19 against a real `mlflow server` (SQLite store) holding N runs, side by
side with a plain REST search (httpx, curl) and MLflow's own client on the same data.

    .venv/bin/python -m benchmarks.mlflow_runs [--runs 1000] [--repeat 3]

Figures (medians of --repeat fresh processes; the machine is shared, so read the ratios):
  - first rows in a fresh process: from the script's first line (before any cockpit import;
    interpreter start not counted) to 50 runs in hand, wall clock and the process's CPU time; the
    cockpit adapter (importing only the mlflow source and its settings model) beside a bare httpx
    POST, curl, and MlflowClient;
  - paging every run at the screens' 100 runs a page, and at 1,000 (MLflow's largest page),
    beside the same loop written with bare httpx;
  - `cockpit snapshot --format json` on the embedded default (demo libvirt host + a local SQLite
    store), empty and holding the N runs, as a whole process; and whether `mlflow` was imported
    (`python -X importtime`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FIRST_ROWS = {
    "cockpit adapter (REST, httpx)": r'''
import time; t0 = time.perf_counter(); c0 = time.process_time()
import asyncio, sys
from backends.mlflow.settings import MlflowSettings  # the source's own settings model, not the whole config
from backends.mlflow.source import MlflowSource
imported = time.perf_counter() - t0
async def main():
    s = MlflowSource(MlflowSettings(tracking_uri=sys.argv[1], experiments=["bulk"]))
    page = await s.runs_page(page_size=50)
    await s.close()
    return len(page.runs)
n = asyncio.run(main())
print(time.perf_counter() - t0, n, "mlflow" in sys.modules, time.process_time() - c0, imported)
''',
    "plain httpx POST runs/search": r'''
import time; t0 = time.perf_counter(); c0 = time.process_time()
import sys, httpx
with httpx.Client(base_url=sys.argv[1]) as c:
    exp = [e for e in c.post("/api/2.0/mlflow/experiments/search", json={"max_results": 1000}).json()["experiments"]
           if e["name"] == "bulk"][0]["experiment_id"]
    runs = c.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [exp], "max_results": 50,
                  "order_by": ["attributes.start_time DESC"]}).json()["runs"]
print(time.perf_counter() - t0, len(runs), "mlflow" in sys.modules, time.process_time() - c0)
''',
    "MlflowClient (the adapter before)": r'''
import time; t0 = time.perf_counter(); c0 = time.process_time()
import sys
from mlflow.tracking import MlflowClient
c = MlflowClient(sys.argv[1])
exp = c.get_experiment_by_name("bulk").experiment_id
runs = c.search_runs([exp], max_results=50, order_by=["attributes.start_time DESC"])
print(time.perf_counter() - t0, len(runs), "mlflow" in sys.modules, time.process_time() - c0)
''',
}

PAGING = r'''
import time, asyncio, sys
size = int(sys.argv[2])
async def adapter():
    from backends.mlflow.settings import MlflowSettings
    from backends.mlflow.source import MlflowSource
    s = MlflowSource(MlflowSettings(tracking_uri=sys.argv[1], experiments=["bulk"]))
    await s.experiments()
    t = time.perf_counter(); token, total = None, 0
    while True:
        page = await s.runs_page(page_token=token, page_size=size)
        total += len(page.runs)
        if not (token := page.next_page_token):
            break
    took = time.perf_counter() - t
    await s.close()
    return took, total
def plain():
    import httpx
    with httpx.Client(base_url=sys.argv[1]) as c:
        exp = [e for e in c.post("/api/2.0/mlflow/experiments/search", json={"max_results": 1000}).json()["experiments"]
               if e["name"] == "bulk"][0]["experiment_id"]
        t = time.perf_counter(); token, total = None, 0
        while True:
            body = {"experiment_ids": [exp], "max_results": size, "order_by": ["attributes.start_time DESC"]}
            if token:
                body["page_token"] = token
            doc = c.post("/api/2.0/mlflow/runs/search", json=body).json()
            total += len(doc.get("runs", ()))
            if not (token := doc.get("next_page_token")):
                break
        return time.perf_counter() - t, total
a = asyncio.run(adapter()); b = plain()
print(a[0], a[1], b[0], b[1])
'''


def python(code: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout.split()


def curl_first_rows(uri: str) -> float | None:
    if not shutil.which("curl"):
        return None
    body = json.dumps({"experiment_ids": ["1"], "max_results": 50, "order_by": ["attributes.start_time DESC"]})
    t = time.perf_counter()
    subprocess.run(["curl", "-sf", "-o", "/dev/null", "-H", "Content-Type: application/json", "-d", body,
                    f"{uri}/api/2.0/mlflow/runs/search"], check=True, timeout=60)
    return time.perf_counter() - t


def snapshot_process(xdg: Path, importtime: bool = False) -> tuple[float, bool, str]:
    """Wall time of `cockpit snapshot --format json` (embedded default), whether mlflow got imported,
    and the mlflow source's status."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(xdg / "config"),
           "XDG_DATA_HOME": str(xdg / "data"), "XDG_STATE_HOME": str(xdg / "state")}
    for var in ("COCKPIT_CONFIG", "LIBVIRT_DEFAULT_URI", "KUBECONFIG", "MLFLOW_TRACKING_URI", "SLURM_CONF",
                "SLURMRESTD_URL", "SLURM_JWT", "COCKPIT_LIBVIRT_URI"):
        env.pop(var, None)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, *(["-X", "importtime"] if importtime else []),
                           "-m", "cockpit", "snapshot", "--format", "json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    took = time.perf_counter() - t
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    imported = any(line.rsplit("|", 1)[-1].strip() == "mlflow" for line in done.stderr.splitlines())
    doc = json.loads(done.stdout)["mlflow"]
    return took, imported, f"{doc['status']}, {len(doc['items'])} runs"


def row(figure: str, value: str, goal: str, beside: str = "") -> None:
    print(f"| {figure} | {value} | {goal} | {beside} |")


def snapshot_figures(repeat: int, db: Path | None = None) -> dict:
    """`cockpit snapshot --format json` on the embedded default, median of `repeat` processes, with
    the store empty or a copy of `db`; one more run with -X importtime says whether mlflow got imported."""
    times, imported, status = [], False, ""
    for i in range(repeat + 1):
        with tempfile.TemporaryDirectory() as x:
            xdg = Path(x)
            if db is not None:
                (xdg / "data" / "cockpit").mkdir(parents=True)
                shutil.copy(db, xdg / "data" / "cockpit" / "mlflow.db")
            took, imp, status = snapshot_process(xdg, importtime=i == repeat)
            if i < repeat:
                times.append(took)
            imported |= imp
    return {"seconds": statistics.median(times), "mlflow_imported": imported, "status": status}


def measure(runs: int = 1000, repeat: int = 3, snapshots: bool = True, echo: bool = False) -> dict:
    """Seeds a real `mlflow server` with `runs` runs, then measures (medians of `repeat` fresh
    processes): first rows (ours and each plain tool, seconds), paging at 100 and 1,000 a page
    (ours and a plain httpx loop), and, with `snapshots`, the one-shot snapshot process."""
    from backends.mlflow import lab
    from benchmarks.startup import compile_project

    compile_project()  # like with like: httpx and the rest of site-packages start from bytecode too
    figures: dict = {"runs": runs, "repeat": repeat, "bytecode": "project byte-compiled (compileall)"}
    with tempfile.TemporaryDirectory() as d:
        directory = Path(d)
        t = time.perf_counter()
        # Seeded in a child process, so this one never imports mlflow.
        python("import sys; from backends.mlflow import lab; "
               "lab.seed_runs(sys.argv[1], 'bulk', int(sys.argv[2]), artifact_root=sys.argv[3])",
               f"sqlite:///{directory / 'mlflow.db'}", str(runs), str(directory / "a"))
        figures["seeded_s"] = time.perf_counter() - t
        t = time.perf_counter()
        server = lab.start_server(directory)
        figures["server_up_s"] = time.perf_counter() - t
        if echo:
            print(f"MLflow: {runs} runs seeded in {figures['seeded_s']:.1f} s, `mlflow server` up in "
                  f"{figures['server_up_s']:.1f} s; medians of {repeat} fresh processes on {os.cpu_count()} CPUs, "
                  f"{figures['bytecode']} "
                  f"(load {os.getloadavg()[0]:.1f})\n")
        try:
            python(FIRST_ROWS["plain httpx POST runs/search"], server.uri)  # the server's first answers are slow
            firsts: dict[str, list[list[str]]] = {name: [] for name in FIRST_ROWS}
            curls: list[float] = []
            for _ in range(repeat):  # round-robin: each tool sees the same server state
                for name, code in FIRST_ROWS.items():
                    firsts[name].append(python(code, server.uri))
                if shutil.which("curl"):
                    curls.append(curl_first_rows(server.uri) or 0.0)
            assert all(r[1] == "50" for rs in firsts.values() for r in rs)
            ours = "cockpit adapter (REST, httpx)"
            figures["first_rows"] = {
                "ours_s": statistics.median(float(r[0]) for r in firsts[ours]),
                "imports_s": statistics.median(float(r[4]) for r in firsts[ours]),
                "cpu_s": {n: statistics.median(float(r[3]) for r in rs) for n, rs in firsts.items()},
                "mlflow_imported": firsts[ours][0][2] == "True",
                "beside_s": {n: statistics.median(float(r[0]) for r in rs) for n, rs in firsts.items() if n != ours},
                "curl_s": statistics.median(curls) if curls else None}
            figures["paging"] = {}
            for size in (100, 1000):
                results = [python(PAGING, server.uri, str(size)) for _ in range(repeat)]
                assert all(int(r[1]) == int(r[3]) == runs for r in results)
                figures["paging"][size] = {"ours_s": statistics.median(float(r[0]) for r in results),
                                           "plain_s": statistics.median(float(r[2]) for r in results)}
            if snapshots:
                figures["snapshot_empty"] = snapshot_figures(repeat)
                figures["snapshot_seeded"] = snapshot_figures(repeat, directory / "mlflow.db")
        finally:
            server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    m = measure(args.runs, args.repeat, echo=True)
    print("| figure | measured | goal | beside it, on the same data |")
    print("|---|---|---|---|")
    f = m["first_rows"]
    beside = ", ".join(f"{n} {v:.2f} s" for n, v in f["beside_s"].items())
    if f["curl_s"] is not None:
        beside += f", curl (whole process, one request) {f['curl_s']:.2f} s"
    beside += "; CPU of each process: " + ", ".join(f"{n} {v:.2f} s" for n, v in f["cpu_s"].items())
    row("MLflow first rows, fresh process (50 runs)", f"{f['ours_s']:.2f} s, of which imports {f['imports_s']:.2f} s "
        f"(mlflow imported: {'yes' if f['mlflow_imported'] else 'no'})", "< 0.3 s", beside)
    for size, p in m["paging"].items():
        row(f"MLflow paging {args.runs} runs, {size}/page", f"{p['ours_s']:.2f} s", "< 1 s",
            f"plain httpx loop {p['plain_s']:.2f} s ({p['ours_s'] / p['plain_s']:.1f}x)")
    for label, key in (("empty store", "snapshot_empty"), (f"{args.runs} runs in the store", "snapshot_seeded")):
        sn = m[key]
        row(f"`cockpit snapshot --format json`, embedded default, {label}",
            f"{sn['seconds']:.2f} s (mlflow imported: {'yes' if sn['mlflow_imported'] else 'no'}; {sn['status']})",
            "< 1 s", "whole process: interpreter, imports, every source")


if __name__ == "__main__":
    main()
