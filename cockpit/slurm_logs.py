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


async def output_tail(runtime: Any, job: Any, lines: int = 20, max_chars: int = 3000) -> str:
    """A few lines a person reads when a job failed: the end of its output file, or why that
    file could not be read (never raises: it only adds to an error message)."""
    paths = log_paths(job)
    if not paths:
        return "the job's output file is not known"
    path = paths[0]
    try:
        text = await runtime.adapter("slurm").read_log_tail(path, lines)
    except Exception as exc:  # missing file, SSH trouble: say so, the error message stays useful
        return f"its output file {path} could not be read: {exc}"
    if not text.strip():
        return f"its output file {path} is empty"
    if len(text) > max_chars:  # a progress bar can make one "line" very long
        text = "..." + text[-max_chars:]
    return f"last lines of {path}:\n{text}"
