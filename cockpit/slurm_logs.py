"""Following a job's output for the screens: which file, and through which adapter."""

from __future__ import annotations

from typing import Any, AsyncIterator


def log_paths(job: Any) -> list[str]:
    """stdout, and stderr when it goes to a different file."""
    get = (lambda k: job.get(k)) if isinstance(job, dict) else (lambda k: getattr(job, k, None))
    paths = [p for p in (get("stdout"), get("stderr")) if p]
    return list(dict.fromkeys(paths))


def follow_job_log(runtime: Any, path: str, **options: Any) -> AsyncIterator[str]:
    """Lines of `path` as the job writes them (inotify locally, polling fallback, or `tail -F`
    over SSH when the cockpit reaches Slurm by SSH)."""
    return runtime.adapter("slurm").follow_log(path, **options)
