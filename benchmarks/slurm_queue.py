"""Parse and diff a 10,000-job SLURM queue, scaled up from real squeue --json output (22.05).

    PYTHONPATH=. python benchmarks/slurm_queue.py [--jobs 10000]

Figures: JSON decode, parse into Job items, diff by key against the previous fetch (5% of jobs
changed), filter + sort (the pane's view), and the cells of one screenful (60 rows) -- the work
a frame does while the queue updates. Parsing runs in a worker thread in the cockpit; the frame
work is what runs on the event loop.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from backends.slurm.parse import parse_jobs
from backends.slurm.transport import decode_json, gc_paused
from cockpit.slurm_queue import filter_jobs, job_order
from screens.render.slurm import COLUMNS

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "slurm" / "v0.0.38" / "squeue.json"


def scaled(n: int, generation: int) -> str:
    doc = json.loads(FIXTURE.read_text())
    seeds = doc["jobs"]
    jobs = []
    for i in range(n):
        job = copy.deepcopy(seeds[i % len(seeds)])
        job["job_id"] = 1000 + i
        job["name"] = f"{job['name']}-{i % 97}"
        job["user_name"] = f"user{i % 23}"
        if generation and i % 20 == 0:  # 5% changed since the previous fetch
            job["job_state"] = "RUNNING" if job["job_state"] == "PENDING" else "COMPLETED"
            job["state_reason"] = "None"
        jobs.append(job)
    doc["jobs"] = jobs
    return json.dumps(doc)


def timed(fn, repeat: int = 5):
    runs = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - start) * 1000)
    return result, statistics.median(runs)


def measure(n_jobs: int = 10_000) -> dict[str, float]:
    """Medians in ms of each step for n_jobs (see the module's docstring), and the JSON's size."""
    now = datetime.now(timezone.utc)
    text0, text1 = scaled(n_jobs, 0), scaled(n_jobs, 1)
    _, t_stdlib = timed(lambda: json.loads(text1))
    doc1, t_decode = timed(lambda: decode_json(text1, "squeue --json"))  # what the transports do

    def parse() -> list:
        with gc_paused():  # as SlurmSource does
            return parse_jobs(doc1, now)

    old = {j.key(): j for j in parse_jobs(json.loads(text0), now)}
    jobs, t_parse = timed(parse)
    new = {j.key(): j for j in jobs}

    def diff():
        changed = [k for k, v in new.items() if old.get(k) != v]
        removed = [k for k in old if k not in new]
        return changed, removed

    (changed, removed), t_diff = timed(diff)
    prio = next(c for c in COLUMNS if c.title == "PRIO")
    view, t_view = timed(lambda: sorted(filter_jobs(new.values(), "!state:CD user:user1,user2,user3"),
                                        key=prio.sort_key, reverse=True))
    _, t_sort = timed(lambda: sorted(new.values(), key=job_order))
    rows, t_cells = timed(lambda: [[c.cell(j) for c in COLUMNS] for j in view[:60]])
    return {"jobs": n_jobs, "json_mb": len(text1) / 1e6, "stdlib_decode_ms": t_stdlib, "decode_ms": t_decode,
            "parse_ms": t_parse, "diff_ms": t_diff, "changed": len(changed), "removed": len(removed),
            "view_ms": t_view, "shown": len(view), "sort_ms": t_sort, "cells_ms": t_cells}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=10_000)
    args = ap.parse_args()
    m = measure(args.jobs)
    t_decode, t_parse, t_view, t_cells = m["decode_ms"], m["parse_ms"], m["view_ms"], m["cells_ms"]
    print(f"jobs={args.jobs} json={m['json_mb']:.1f} MB")
    print(f"json decode      {t_decode:8.1f} ms  (orjson, GC paused; stdlib json.loads {m['stdlib_decode_ms']:.1f} ms)")
    print(f"parse to items   {t_parse:8.1f} ms  ({t_parse * 1000 / args.jobs:.1f} us/job)")
    print(f"diff by key      {m['diff_ms']:8.1f} ms  ({m['changed']} changed, {m['removed']} removed)")
    print(f"filter+sort      {t_view:8.1f} ms  ({m['shown']} shown)")
    print(f"sort all by id   {m['sort_ms']:8.1f} ms")
    print(f"cells of 60 rows {t_cells:8.1f} ms")
    print(f"frame work (filter+sort+cells) {t_view + t_cells:.1f} ms; fetch work off the loop {t_decode + t_parse:.1f} ms")


if __name__ == "__main__":
    main()
