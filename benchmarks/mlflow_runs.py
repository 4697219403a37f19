"""MLflow source figures against a real `mlflow server` (SQLite store) holding N runs.

    PYTHONPATH=. python benchmarks/mlflow_runs.py [--runs 1000]

Prints: seeding and server start, time to first rows (a fresh adapter: `import mlflow` in a
worker thread, client, first page), the event loop's worst stall meanwhile, the snapshot fetch
(max_runs 200), paging through every run, a server-side and a local filter.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path


async def loop_lag(stop: asyncio.Event) -> float:
    """Worst delay of a 10 ms ticker: how long the event loop (the screen) was blocked."""
    worst = 0.0
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        worst = max(worst, time.perf_counter() - t - 0.01)
    return worst


async def measure(uri: str, runs: int) -> None:
    from backends.mlflow.source import MlflowSource
    from cockpit.config import MlflowSettings
    from cockpit.mlflow_runs import filter_runs, parse_filter, search_filter

    source = MlflowSource(MlflowSettings(tracking_uri=uri, experiments=["bulk"]))
    stop = asyncio.Event()
    lag = asyncio.create_task(loop_lag(stop))
    t = time.perf_counter()
    page = await source.runs_page(page_size=50)
    first = time.perf_counter() - t
    stop.set()
    print(f"time to first rows (import mlflow + client + 50 runs): {first:.2f} s, "
          f"worst event-loop stall meanwhile {await lag * 1000:.0f} ms")
    t = time.perf_counter()
    await source.runs_page(page_size=50)
    print(f"next first page, warm client (50 runs): {time.perf_counter() - t:.3f} s")

    t = time.perf_counter()
    result = await source.fetch()
    print(f"snapshot fetch (max_runs 200, experiments + registry): {time.perf_counter() - t:.2f} s, "
          f"{len(result.items)} runs, truncated={result.sections['runs_truncated']}")

    for size in (100, 500):
        t = time.perf_counter()
        token, total, pages = None, 0, 0
        while True:
            page = await source.runs_page(page_token=token, page_size=size)
            total, pages, token = total + len(page.runs), pages + 1, page.next_page_token
            if not token:
                break
        print(f"page through all runs, {size}/page: {time.perf_counter() - t:.2f} s ({pages} pages, {total} runs)")

    f = parse_filter("status:failed")
    t = time.perf_counter()
    found = await source.runs_page(filter_string=search_filter(f), page_size=500)
    print(f"server-side filter status:failed: {time.perf_counter() - t:.3f} s, {len(found.runs)} runs")
    everything = (await MlflowSource(MlflowSettings(tracking_uri=uri, experiments=["bulk"], max_runs=runs)).fetch())
    t = time.perf_counter()
    local = filter_runs(everything.items.values(), parse_filter("status:finished metric:loss<0.01 tag:slurm_job_id"))
    print(f"local filter over {len(everything.items)} snapshot runs: {(time.perf_counter() - t) * 1000:.1f} ms, "
          f"{len(local)} match")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    from backends.mlflow import lab

    with tempfile.TemporaryDirectory() as d:
        directory = Path(d)
        t = time.perf_counter()
        # Seed in a child process, so this one has not imported mlflow yet when it measures.
        subprocess.run([sys.executable, "-c", "import sys; from backends.mlflow import lab; "
                        "lab.seed_runs(sys.argv[1], 'bulk', int(sys.argv[2]), artifact_root=sys.argv[3])",
                        f"sqlite:///{directory / 'mlflow.db'}", str(args.runs), str(directory / "a")],
                       check=True, stderr=subprocess.DEVNULL)
        print(f"seed {args.runs} runs (tables + one transaction): {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        server = lab.start_server(directory)
        print(f"mlflow server start: {time.perf_counter() - t:.2f} s")
        try:
            asyncio.run(measure(server.uri, args.runs))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
