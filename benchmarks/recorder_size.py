"""Flight-recorder size per hour at 1,000 SLURM jobs, and the disk cap holding.

    PYTHONPATH=. python benchmarks/recorder_size.py [--jobs 1000] [--hours 1] [--cap-mib 0.5]

The queue is the real squeue --json fixture (Slurm 22.05, tests/fixtures/slurm/v0.0.38) parsed
by the real parser and scaled to --jobs. It is polled every 5 s (the slurm source's default
refresh). At each poll every running job's time used advances (what squeue reports), and the queue
turns over at --turnover jobs an hour: that many jobs finish and leave, as many new ones arrive
pending, and as many pending ones start. Figures: bytes per recorded hour with no cap, time per
recorded poll (on the writer thread, not the event loop), time to rebuild a moment (`--at`), and
the file size over --cap-hours of recording under a --cap-mib cap.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from backends.slurm.parse import parse_jobs
from cockpit.recorder import Limits, Recording
from cockpit.snapshot import Snapshot, Status

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "slurm" / "v0.0.38" / "squeue.json"
POLL_S = 5.0
T0 = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)


class Queue:
    def __init__(self, n: int, turnover_per_hour: float, seed: int = 1) -> None:
        seeds = parse_jobs(json.loads(FIXTURE.read_text()), T0)
        self.seeds = [j for j in seeds if not j.finished]
        self.rng = random.Random(seed)
        self.next_id = 100_000
        self.jobs = {}
        for _ in range(n):
            self._arrive(self.rng.choice(self.seeds))
        self.per_poll = turnover_per_hour * POLL_S / 3600
        self.carry = 0.0

    def _arrive(self, template) -> None:
        job = template.model_copy(update={"job_id": self.next_id, "display_id": str(self.next_id)})
        self.jobs[job.key()] = job
        self.next_id += 1

    def poll(self) -> dict:
        for key, job in self.jobs.items():
            if job.state == "RUNNING":
                self.jobs[key] = job.model_copy(update={"time_used_s": (job.time_used_s or 0) + int(POLL_S)})
        self.carry += self.per_poll
        while self.carry >= 1:
            self.carry -= 1
            running = [k for k, j in self.jobs.items() if j.state == "RUNNING"]
            pending = [k for k, j in self.jobs.items() if j.state == "PENDING"]
            if running:
                del self.jobs[self.rng.choice(running)]
            if pending:
                key = self.rng.choice(pending)
                self.jobs[key] = self.jobs[key].model_copy(update={"state": "RUNNING", "reason": None, "time_used_s": 0})
            self._arrive(next(j for j in self.seeds if j.state == "PENDING"))
        return dict(self.jobs)


def record(jobs: int, hours: float, turnover: float, limits: Limits) -> tuple[Path, list[float], list[int], float, int]:
    queue = Queue(jobs, turnover)
    path = Path(tempfile.mkdtemp()) / "bench.sqlite"
    times, sizes = [], []
    polls = int(hours * 3600 / POLL_S)
    with Recording.create_or_append(path, limits) as rec:
        for i in range(polls):
            now = T0 + timedelta(seconds=POLL_S * i)
            snap = Snapshot(source="slurm", status=Status.OK, fetched_at=now, items=queue.poll())
            start = time.perf_counter()
            rec.record({"slurm": snap}, now.timestamp())
            times.append((time.perf_counter() - start) * 1000)
            sizes.append(rec.size_bytes())
        rec.enforce((T0 + timedelta(hours=hours)).timestamp(), force=True)
        start = time.perf_counter()
        rec.snapshots_at((T0 + timedelta(hours=hours * 0.99)).timestamp())
        rebuild_ms = (time.perf_counter() - start) * 1000
    # closed: the WAL (up to ~1 MiB while recording, counted against the cap) is folded in
    return path, times, sizes, rebuild_ms, path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=1.0, help="recorded hours for the size-per-hour figure")
    ap.add_argument("--turnover", type=float, default=500.0, help="jobs finishing (and arriving) per hour")
    ap.add_argument("--cap-mib", type=float, default=0.5, help="a cap the --cap-hours recording outgrows")
    ap.add_argument("--cap-hours", type=float, default=2.0)
    args = ap.parse_args()

    q = Queue(args.jobs, args.turnover)
    running = sum(1 for j in q.jobs.values() if j.state == "RUNNING")
    print(f"{args.jobs} jobs ({running} running, time used advancing every {POLL_S:g} s poll), "
          f"turnover {args.turnover:g} jobs/h")

    path, times, sizes, rebuild_ms, closed = record(args.jobs, args.hours, args.turnover, Limits(max_bytes=10**12))
    per_hour = closed / args.hours
    print(f"uncapped: {closed / 2**20:.2f} MiB after {args.hours:g} h = {per_hour / 2**20:.2f} MiB per hour "
          f"(largest while recording, WAL included: {max(sizes) / 2**20:.2f} MiB); "
          f"record median {statistics.median(times):.1f} ms, p95 {sorted(times)[int(len(times) * .95)]:.1f} ms per poll; "
          f"rebuild a moment {rebuild_ms:.0f} ms")
    print(f"at this rate the default 64 MiB cap holds {64 * 2**20 / per_hour:.1f} h (the 48 h window needs "
          f"{48 * per_hour / 2**20:.1f} MiB): the window {'fits' if 48 * per_hour <= 64 * 2**20 else 'does NOT fit'}")

    cap = int(args.cap_mib * 2**20)
    path, times, sizes, rebuild_ms, closed = record(args.jobs, args.cap_hours, args.turnover, Limits(max_bytes=cap))
    with Recording.open(path) as rec:
        first, last = rec.span()
    print(f"capped at {args.cap_mib:g} MiB over {args.cap_hours:g} h: largest {max(sizes) / 2**20:.2f} MiB, "
          f"final {sizes[-1] / 2**20:.2f} MiB, keeps the last {(last - first) / 3600:.2f} h; "
          f"cap held: {max(sizes) <= cap}")


if __name__ == "__main__":
    main()
