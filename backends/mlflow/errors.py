"""MLflow failures as one clear line, and tracking URIs with their passwords hidden."""

from __future__ import annotations

import re


class MlflowError(RuntimeError):
    """A failed MLflow call, with a one-line explanation."""


def redact_uri(uri: str) -> str:
    """https://user:secret@host -> https://user:***@host (URIs show up in errors and snapshots)."""
    return re.sub(r"(://[^/:@]+):[^/@]+@", r"\1:***@", uri)


def explain(exc: BaseException, uri: str) -> str:
    """One clear line for the pane instead of MLflow's multi-line retry tracebacks (client path)."""
    text = str(exc)
    shown = redact_uri(uri)
    if "Connection refused" in text or "Failed to establish a new connection" in text:
        return f"MLflow server at {shown} is not reachable (connection refused): is `mlflow server` running?"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"MLflow server host in {shown} cannot be resolved"
    if "timed out" in text.lower() or "Read timed out" in text:
        return f"MLflow server at {shown} did not answer in time"
    if "RESOURCE_DOES_NOT_EXIST" in text or "not found" in text.lower():
        return redact_uri(text.splitlines()[0])
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"MLflow ({shown}): {redact_uri(first)}"
