"""Decode, parse and diff a 10,000-job SLURM queue, scaled up from real squeue --json output (22.05).

    PYTHONPATH=. python benchmarks/slurm_queue.py [--jobs 10000] [--repeat 5]

Figures (medians of --repeat runs, in ms): the decode + parse of each reply
(backends/slurm/queue_reader.py: the reply's envelope decoded with each job left raw, unchanged
jobs reused, changed ones decoded with the fields parse_job reads and parsed), on a refresh where
5% of the jobs changed state and every pending one its last_sched_evaluation (as a real
slurmctld's scheduling pass does) and on the first reply (every job new), measured in this process; the same
through the worker process the cockpit runs it in (backends/slurm/queue_worker.py): wall time,
and the CPU time it leaves in the cockpit's own process (sending the reply, taking the answer).
Beside them the whole reply decoded by orjson and by the standard library's json, and
parse_jobs over every job of it (what the cockpit did before). Then the frame's share: diff by
key against the previous fetch, filter + sort (the pane's view), and the cells of one screenful.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from backends.slurm.parse import parse_jobs
from backends.slurm.queue_reader import JobsReader, decode_jobs_reply
from backends.slurm.queue_worker import QueueWorker
from backends.slurm.transport import decode_json, gc_paused
from benchmarks.keypress_latency import rescheduled
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
        if generation and job["job_state"] == "PENDING":
            rescheduled(job)  # as slurmctld does at each scheduling pass
        if generation and i % 20 == 0:  # 5% changed since the previous fetch
            job["job_state"] = "RUNNING" if job["job_state"] == "PENDING" else "COMPLETED"
            job["state_reason"] = "None"
        jobs.append(job)
    doc["jobs"] = jobs
    return json.dumps(doc)


def timed(fn, repeat: int = 5, setup=None):
    """(last result, median ms) of `repeat` runs of fn(); setup() runs before each, untimed."""
    runs = []
    result = None
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - start) * 1000)
    return result, statistics.median(runs)


def measure(n_jobs: int = 10_000, repeat: int = 5) -> dict[str, float]:
    """Medians in ms of each step for n_jobs (see the module's docstring), and the JSON's size."""
    now = datetime.now(timezone.utc)
    text0, text1 = scaled(n_jobs, 0), scaled(n_jobs, 1)
    data0, data1 = text0.encode(), text1.encode()
    _, t_stdlib = timed(lambda: json.loads(text1), repeat)
    doc1, t_orjson = timed(lambda: decode_json(text1, "squeue --json"), repeat)

    def parse_all() -> list:
        with gc_paused():  # as SlurmSource does
            return parse_jobs(doc1, now)

    jobs_all, t_parse_all = timed(parse_all, repeat)

    # The cockpit's path, as SlurmSource runs it in a worker thread (GC paused around the parse).
    reader = JobsReader()

    def read(data: bytes):
        def run() -> list:
            reply = decode_jobs_reply(data, "squeue --json")
            with gc_paused():
                return reader.read(reply, now)
        return run

    def decode_only(data: bytes):
        return lambda: decode_jobs_reply(data, "squeue --json")

    def cold() -> None:
        reader.__init__()

    def warm() -> None:  # the previous fetch was generation 0
        reader.__init__()
        read(data0)()

    _, t_cold = timed(read(data1), repeat, setup=cold)
    _, t_envelope = timed(decode_only(data1), repeat)
    jobs, t_refresh = timed(read(data1), repeat, setup=warm)
    reused = reader.reused
    if jobs != jobs_all:
        raise AssertionError("the queue reader and parse_jobs disagree on the benchmark's queue")

    worker = asyncio.run(through_worker(data0, data1, now, repeat))
    if worker.pop("jobs") != jobs_all:
        raise AssertionError("the queue worker and parse_jobs disagree on the benchmark's queue")

    old = {j.key(): j for j in parse_jobs(json.loads(text0), now)}
    new = {j.key(): j for j in jobs}

    def diff():
        changed = [k for k, v in new.items() if old.get(k) != v]
        removed = [k for k in old if k not in new]
        return changed, removed

    (changed, removed), t_diff = timed(diff, repeat)
    prio = next(c for c in COLUMNS if c.title == "PRIO")
    view, t_view = timed(lambda: sorted(filter_jobs(new.values(), "!state:CD user:user1,user2,user3"),
                                        key=prio.sort_key, reverse=True), repeat)
    _, t_sort = timed(lambda: sorted(new.values(), key=job_order), repeat)
    rows, t_cells = timed(lambda: [[c.cell(j) for c in COLUMNS] for j in view[:60]], repeat)
    return {"jobs": n_jobs, "json_mb": len(data1) / 1e6, "stdlib_decode_ms": t_stdlib,
            "orjson_decode_ms": t_orjson, "parse_all_ms": t_parse_all,
            "envelope_ms": t_envelope, "refresh_ms": t_refresh, "reused": reused, "cold_ms": t_cold, **worker,
            "diff_ms": t_diff, "changed": len(changed), "removed": len(removed),
            "view_ms": t_view, "shown": len(view), "sort_ms": t_sort, "cells_ms": t_cells}


async def through_worker(data0: bytes, data1: bytes, now: datetime, repeat: int) -> dict:
    """Wall and own-process CPU ms of QueueWorker.read: a refresh after data0, and a first reply."""
    walls, cpus, colds = [], [], []
    jobs: list = []
    for _ in range(repeat):
        worker = QueueWorker()
        try:
            wall = time.perf_counter()
            await worker.read(data1, "squeue --json", now)  # the first reply, read in a thread
            colds.append((time.perf_counter() - wall) * 1000)
            await worker.read(data1, "squeue --json", now)  # the worker, started after it, parses afresh
            await worker.read(data0, "squeue --json", now)
            wall, cpu = time.perf_counter(), time.process_time()
            _, jobs = await worker.read(data1, "squeue --json", now)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        finally:
            worker.close()
    return {"worker_refresh_ms": statistics.median(walls), "worker_main_cpu_ms": statistics.median(cpus),
            "worker_cold_ms": statistics.median(colds), "jobs": jobs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    m = measure(args.jobs, args.repeat)
    n = args.jobs
    print(f"jobs={n} json={m['json_mb']:.1f} MB, medians of {args.repeat}; a refresh: 5% of the jobs changed state, "
          "every pending one was rescheduled")
    print(f"refresh               {m['refresh_ms']:8.1f} ms  (decode + parse: {m['reused']} jobs reused; "
          f"the envelope decode alone {m['envelope_ms']:.1f} ms)")
    print(f"first reply, all new  {m['cold_ms']:8.1f} ms  (decode + parse, {m['cold_ms'] * 1000 / n:.1f} us/job)")
    print(f"in the worker process {m['worker_refresh_ms']:8.1f} ms  (refresh, wall; {m['worker_main_cpu_ms']:.1f} ms CPU in "
          f"the cockpit's process; the first reply, read in a thread, {m['worker_cold_ms']:.1f} ms)")
    print(f"before: orjson decode {m['orjson_decode_ms']:8.1f} ms  + parse_jobs {m['parse_all_ms']:.1f} ms "
          f"= {m['orjson_decode_ms'] + m['parse_all_ms']:.1f} ms; stdlib json.loads {m['stdlib_decode_ms']:.1f} ms")
    print(f"diff by key           {m['diff_ms']:8.1f} ms  ({m['changed']} changed, {m['removed']} removed)")
    print(f"filter+sort           {m['view_ms']:8.1f} ms  ({m['shown']} shown)")
    print(f"sort all by id        {m['sort_ms']:8.1f} ms")
    print(f"cells of 60 rows      {m['cells_ms']:8.1f} ms")


if __name__ == "__main__":
    main()
