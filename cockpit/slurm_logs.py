"""Which files hold a job's output (stdout, and stderr when it goes elsewhere)."""

from __future__ import annotations

from typing import Any


def log_paths(job: Any) -> list[str]:
    """stdout, and stderr when it goes to a different file."""
    def get(key: str) -> Any:
        return job.get(key) if isinstance(job, dict) else getattr(job, key, None)

    paths = [p for p in (get("stdout"), get("stderr")) if p]
    return list(dict.fromkeys(paths))
