"""One line that says how a source is doing: status, data age, last error, or how to configure."""

from __future__ import annotations

import re
from datetime import datetime

from cockpit.snapshot import Snapshot, Status, utcnow


def age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    # Coarse on purpose: the line changes (and is redrawn) only when the bucket changes.
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds // 5) * 5}s ago"
    if seconds < 90:
        return "1m ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


# "squeue --json on local (/etc/slurm.conf) failed (exit 1): <message>" and
# "scontrol on host: Slurm reported '<message>'": the where comes first in a backend's text.
_WHERE_FIRST = re.compile(r"^(?P<where>[^:\n]*? on [^\n]*?)(?: failed(?: \(exit \d+\))?)?: (?P<message>.+)$", re.S)


def backend_first(error: str | None) -> str:
    """The backend's own message first, then where it came from, so that a line cut at the
    screen's edge still shows what went wrong."""
    text = (error or "unknown error").strip()
    found = _WHERE_FIRST.match(text)
    if not found or not found.group("message").strip():
        return text
    return f"{found.group('message').strip()} — at {found.group('where').strip()}"


def clock(moment: datetime | None) -> str:
    """HH:MM:SS in the viewer's local time."""
    return moment.astimezone().strftime("%H:%M:%S") if moment is not None else "?"


def status_line(snap: Snapshot, now: datetime | None = None, shown: int | None = None) -> str:
    """`shown`: how many rows a filter lets through ("ok, 3 of 12 items, ...")."""
    now = now or utcnow()
    if snap.status is Status.UNCONFIGURED:
        return f"unconfigured: {snap.hint or 'no settings'}"
    count = len(snap.items)
    if snap.status is Status.ERROR:
        since = age((now - snap.error_since).total_seconds()) if snap.error_since else "?"
        kept = (f"; rows stale since {clock(snap.error_since)} (data from {age(snap.age_s(now))})"
                if snap.stale else "")
        return f"error: {backend_first(snap.error)} (since {since}){kept}"
    if snap.fetched_at is None:
        return "loading..."
    of = f"{shown} of " if shown is not None else ""
    return f"ok, {of}{count} item{'s' if count != 1 else ''}, updated {age(snap.age_s(now))}"
