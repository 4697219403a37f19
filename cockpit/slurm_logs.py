"""A job's output for people: which files hold it, and its last lines when it failed (read through
the query seam, `runtime.query`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


def log_paths(job: Any) -> list[str]:
    """stdout, and stderr when it goes to a different file."""
    def get(key: str) -> Any:
        return job.get(key) if isinstance(job, dict) else getattr(job, key, None)

    paths = [p for p in (get("stdout"), get("stderr")) if p]
    return list(dict.fromkeys(paths))


async def output_tail(runtime: "Runtime", job: Any, lines: int = 20, max_chars: int = 3000) -> str:
    """A few lines a person reads when a job failed: the end of its output file, or why that
    file could not be read (never raises: it only adds to an error message)."""
    paths = log_paths(job)
    if not paths:
        return "the job's output file is not known"
    path = paths[0]
    try:
        text = await runtime.query.read_log_tail(path, lines)
    except Exception as exc:  # missing file, SSH trouble: say so, the error message stays useful
        return f"its output file {path} could not be read: {exc}"
    if not text.strip():
        return f"its output file {path} is empty"
    if len(text) > max_chars:  # a progress bar can make one "line" very long
        text = "..." + text[-max_chars:]
    return f"last lines of {path}:\n{text}"
