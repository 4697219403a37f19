"""Where a pending SLURM job stands in its partition's queue: "priority 3rd of 12 in gpu".

The rank is by the job's priority as squeue --json / slurmrestd report it (`priority`: a number
in 22.05, {"set", "infinite", "number"} from 23.02 on; parsed into the job's `priority`), among
the pending jobs of the same partition (the job's partition field as Slurm prints it, so a job
submitted to "gpu,debug" competes with the jobs of that same list). A job with priority 0 is held
(Slurm zeroes a held job's priority) and competes with nobody: it gets no rank. Jobs with the same
priority share a rank ("1st of 2" for both): which of them Slurm starts first depends on
scheduler details (submit time, partition tiers, backfill) the queue does not show.

Pure: the slurm source ranks the queue it fetched (so the snapshot JSON, the recorder and every
viewer carry the same rank); the reason line and the job detail put it in words.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, TypeVar

J = TypeVar("J")


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _competes(job: Any) -> bool:
    priority = _get(job, "priority")
    return str(_get(job, "state") or "").upper() == "PENDING" and isinstance(priority, int) and priority > 0


def _ranks(jobs: list[Any]) -> list[tuple[int, int] | None]:
    """(rank, pending jobs ranked in its partition) per job, in the jobs' order; rank 1 goes first."""
    by_partition: dict[str, list[int]] = defaultdict(list)
    for index, job in enumerate(jobs):
        if _competes(job):
            by_partition[str(_get(job, "partition") or "")].append(index)
    out: list[tuple[int, int] | None] = [None] * len(jobs)
    for pending in by_partition.values():
        pending.sort(key=lambda i: _get(jobs[i], "priority"), reverse=True)
        rank, previous = 0, None
        for position, index in enumerate(pending, start=1):
            if _get(jobs[index], "priority") != previous:  # equal priorities share a rank
                rank, previous = position, _get(jobs[index], "priority")
            out[index] = (rank, len(pending))
    return out


def priority_ranks(jobs: Iterable[Any]) -> dict[str, tuple[int, int]]:
    """job id -> (rank, pending jobs ranked in its partition); rank 1 goes first."""
    listed = list(jobs)
    return {str(_get(job, "job_id")): found for job, found in zip(listed, _ranks(listed)) if found is not None}


def with_priority_ranks(jobs: list[J]) -> list[J]:
    """The jobs with `priority_rank` and `priority_rank_of` set on the pending ones that compete
    (models are frozen: a ranked job is a copy, the others are the same objects)."""
    out: list[J] = []
    for job, found in zip(jobs, _ranks(jobs)):
        if found is not None and hasattr(job, "model_copy"):
            job = job.model_copy(update={"priority_rank": found[0], "priority_rank_of": found[1]})
        out.append(job)
    return out


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_words(job: Any) -> str | None:
    """'priority 3rd of 12 in gpu' for a ranked pending job; None for any other."""
    rank, of = _get(job, "priority_rank"), _get(job, "priority_rank_of")
    if not rank or not of:
        return None
    partition = _get(job, "partition")
    return f"priority {ordinal(rank)} of {of}" + (f" in {partition}" if partition else "")
