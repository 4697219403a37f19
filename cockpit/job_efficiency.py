"""How well a SLURM job used what it was given, like Slurm's `seff`: CPU, memory and GPU efficiency
from one accounting record (sacct / slurmdb JSON, parsed into backends/slurm/models.HistoryJob).

The formulas are seff's (Slurm's contribs/seff/seff, "seff Version 2.1", SchedMD/slurm at commit
01cec7fa; unchanged from 20.02 through 25.x):

- CPU:    cput = the sum of every step's TotalCPU (user + system, `time.total`); efficiency is
          cput / (elapsed x allocated CPUs). Every step counts once: an `srun` step's tasks run
          under their own slurmstepd, so the batch step's TotalCPU does not include them.
- memory: used = the largest, over the steps, of the step's summed task peaks
          (TRESUsageInTot mem: JSON `tres.requested.total` mem, bytes), so a multi-node step adds
          its nodes up; efficiency is used / allocated memory of the job (`tres.allocated` mem).
          seff prints 0% when Slurm allocated no memory (a cluster that does not track it, as
          with CR_Core); we then measure against the *requested* memory and say so.
- GPU:    not in seff. Where the accounting gatherer records GPU TRES (gres/gpuutil in percent,
          gres/gpumem in bytes, AcctGatherGpu / NVML builds), utilisation is the largest step's
          summed gpuutil over the job's allocated GPUs, and memory the largest step's summed
          gpumem. Both are the gatherer's samples, not a time average.

A running job's record holds only what accounting has so far (finished steps' usage), so its
figures are partial and marked so; a pending job has none. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

MB = 1024 * 1024
GPU_UTIL = "gres/gpuutil"
GPU_MEM = "gres/gpumem"


@dataclass(frozen=True)
class JobEfficiency:
    job_id: int
    state: str
    partial: bool  # the job still runs: figures cover only what accounting has so far
    elapsed_s: int | None = None
    cpus: int | None = None
    nodes: int | None = None
    cpu_time_s: float | None = None  # summed TotalCPU of the steps
    core_wall_s: int | None = None  # elapsed x allocated CPUs
    cpu_pct: float | None = None
    memory_used_bytes: int | None = None
    memory_of_bytes: int | None = None  # what the memory is measured against
    memory_basis: str | None = None  # "allocated" or "requested"
    memory_pct: float | None = None
    gpus: int = 0
    gpu_util_pct: float | None = None
    gpu_memory_bytes: int | None = None
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out


def _get(obj: Any, name: str) -> Any:
    """A field of a model or of its JSON dump (the screens hold dumps, never backend models)."""
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole > 0 else None


def job_efficiency(job: Any) -> JobEfficiency | None:
    """A job's efficiency from its accounting record (a HistoryJob or its JSON dump); None for a
    pending job, which has used nothing yet."""
    state = str(_get(job, "state") or "")
    if state == "PENDING" or not _get(job, "start_time") and not _get(job, "elapsed_s"):
        return None
    steps = list(_get(job, "steps") or [])
    notes: list[str] = []
    partial = state in ("RUNNING", "SUSPENDED", "REQUEUED", "RESIZING", "COMPLETING")
    if partial:
        notes.append("still running: accounting has usage of finished steps only")
    elapsed = _get(job, "elapsed_s")
    cpus = _get(job, "cpus")
    step_cpu = [_get(s, "cpu_time_s") for s in steps if _get(s, "cpu_time_s") is not None]
    cpu_time = sum(step_cpu) if step_cpu else _get(job, "cpu_time_s")
    core_wall = elapsed * cpus if elapsed is not None and cpus else None
    cpu_pct = _pct(cpu_time, core_wall) if cpu_time is not None and core_wall else None

    totals = [_get(s, "usage_total") or {} for s in steps]
    mem_peaks = [t.get("mem") for t in totals]
    mem_used = max((m for m in mem_peaks if m is not None), default=None)
    if _get(job, "memory_mb"):
        mem_of, basis = _get(job, "memory_mb") * MB, "allocated"
    elif _get(job, "memory_requested_mb"):
        mem_of, basis = _get(job, "memory_requested_mb") * MB, "requested"
        notes.append("no memory allocated by Slurm (not tracked): measured against the request")
    else:
        mem_of, basis = None, None
    if mem_used is None:
        notes.append("no memory usage in accounting (jobacct_gather off, steps too short to sample, or none ended yet)")
    mem_pct = _pct(mem_used, mem_of) if mem_used is not None and mem_of else None

    gpus = int(_get(job, "gpus") or 0)
    util = [t.get(GPU_UTIL) for t in totals]
    util_max = max((u for u in util if u is not None), default=None)
    gmem = [t.get(GPU_MEM) for t in totals]
    gmem_max = max((m for m in gmem if m is not None), default=None)
    gpu_pct = round(min(100.0, util_max / gpus), 2) if util_max is not None and gpus else None
    if gpus and util_max is None:
        notes.append("no GPU usage in accounting (needs AcctGatherGpu / gres/gpuutil in AccountingStorageTRES)")
    return JobEfficiency(
        job_id=int(_get(job, "job_id") or 0), state=state, partial=partial, elapsed_s=elapsed, cpus=cpus,
        nodes=_get(job, "node_count"), cpu_time_s=None if cpu_time is None else round(cpu_time, 3),
        core_wall_s=core_wall, cpu_pct=cpu_pct, memory_used_bytes=mem_used, memory_of_bytes=mem_of,
        memory_basis=basis, memory_pct=mem_pct, gpus=gpus, gpu_util_pct=gpu_pct, gpu_memory_bytes=gmem_max,
        notes=tuple(notes),
    )


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{n} B"  # unreachable


def _hms(seconds: float | int | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}-" if days else "") + f"{hours:02}:{minutes:02}:{secs:02}"


def _pct_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def efficiency_lines(eff: JobEfficiency) -> list[str]:
    """The short "Efficiency" block of a job's detail, in seff's terms."""
    lines = [f"CPU     {_pct_text(eff.cpu_pct)}  ({_hms(eff.cpu_time_s)} used of {_hms(eff.core_wall_s)} core-walltime,"
             f" {eff.cpus or '-'} CPU{'s' if eff.cpus != 1 else ''} x {_hms(eff.elapsed_s)})"]
    lines.append(f"memory  {_pct_text(eff.memory_pct)}  ({_size(eff.memory_used_bytes)} peak of {_size(eff.memory_of_bytes)}"
                 + (f" {eff.memory_basis})" if eff.memory_basis else ")"))
    if eff.gpus:
        lines.append(f"GPU     {_pct_text(eff.gpu_util_pct)}  ({eff.gpus} GPU{'s' if eff.gpus != 1 else ''}"
                     + (f", {_size(eff.gpu_memory_bytes)} GPU memory peak)" if eff.gpu_memory_bytes is not None else ")"))
    lines += [f"note    {note}" for note in eff.notes]
    return lines


def annotate_history(document: dict[str, Any]) -> None:
    """Add `efficiency` (JobEfficiency.as_dict(), or None while pending) to every accounting job
    of the slurm source in a snapshot JSON document, in place."""
    slurm = document.get("slurm")
    accounting = slurm.get("accounting") if isinstance(slurm, dict) else None
    for job in (accounting.get("jobs") if isinstance(accounting, dict) else None) or []:
        if isinstance(job, dict):
            eff = job_efficiency(job)
            job["efficiency"] = eff.as_dict() if eff else None
