"""Values behind table cells: sort keys that order by value (never by rendered text), parsers for
the units people type in filters (`time>1:00:00`, `size>10GiB`), and human renderings for detail
views (`2d 3h`, `1.5 GiB`, `2026-11-29 16:04 (3m ago)`). Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

# -- sort keys ---------------------------------------------------------------------------------
# Every key is a tuple whose first element ranks the kind of value, so one column of mixed values
# (numbers, text, missing) still sorts without comparing an int with a str: values first, missing last.
_DIGITS = re.compile(r"(\d+)")
MISSING: tuple[Any, ...] = (9,)


def natural(text: str) -> tuple[Any, ...]:
    """'node10' after 'node2': digit runs compare as numbers, the rest case-insensitively.
    re.split with a group alternates text and digits, starting with text, so positions align."""
    parts = _DIGITS.split(text.casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def sort_key(value: Any) -> tuple[Any, ...]:
    """A key for any cell value: None and '' last, numbers and times by value, text naturally."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, datetime):
        return (0, value.timestamp() if value.tzinfo else value.replace(tzinfo=timezone.utc).timestamp())
    if isinstance(value, (list, tuple)):
        return sort_key(value[0]) if value else MISSING
    return (1, natural(str(value)))


_JOB_ID = re.compile(r"^(\d+)(?:([_+])(?:(\d+)|\[(\d+)[^\]]*\]))?$")


def job_id_key(display_id: Any) -> tuple[Any, ...]:
    """Slurm job ids by number, array tasks beside their job: 41, 41_0, 41_3, 41_[4-9%2], 100.

    squeue prints `41_3` for a task, `41_[4-9%2]` for the array's pending rest and `41+0` for a
    heterogeneous job component; the rest of a pending array sorts after the tasks already split."""
    if display_id is None:
        return MISSING
    if isinstance(display_id, int):
        return (0, display_id, -1, 0)
    match = _JOB_ID.match(str(display_id).strip())
    if not match:
        return (1, natural(str(display_id)))
    job, sep, task, rest = match.groups()
    if sep is None:
        return (0, int(job), -1, 0)
    if task is not None:
        return (0, int(job), 0, int(task))
    return (0, int(job), 1, int(rest))


# -- parsers (what a user types, what Slurm prints) -----------------------------------------------
_SLURM_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")
_HUMAN_TIME = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*(d|h|m|s|days?|hours?|min|mins|minutes?|secs?|seconds?)\s*)+$", re.I)
_HUMAN_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s|days?|hours?|min|mins|minutes?|secs?|seconds?)", re.I)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> float:
    """Seconds from Slurm's forms (`10:00` = 10 min, `1:00:00`, `1-01:00:00`, `2-0`) or a human
    one (`90s`, `2h`, `1d 3h`); `UNLIMITED`/`INFINITE` is infinity. Raises ValueError otherwise."""
    value = text.strip()
    if value.upper() in ("UNLIMITED", "INFINITE"):
        return math.inf
    match = _SLURM_TIME.match(value)
    if match:
        days, a, b, c = match.groups()
        if days is not None:  # D-HH[:MM[:SS]]
            hours, minutes, seconds = int(a), int(b or 0), int(c or 0)
        elif c is not None:  # HH:MM:SS
            hours, minutes, seconds = int(a), int(b), int(c)
        elif b is not None:  # MM:SS
            hours, minutes, seconds = 0, int(a), int(b)
        else:  # a bare number: seconds, as everywhere outside Slurm's own time strings
            return float(a)
        return float((int(days or 0) * 24 + hours) * 3600 + minutes * 60 + seconds)
    if _HUMAN_TIME.match(value):
        return float(sum(float(n) * _UNIT_SECONDS[u[0].lower()] for n, u in _HUMAN_PART.findall(value)))
    raise ValueError(f"{text!r} is not a duration (write 90s, 2h, 1d 3h, 10:00, 1:00:00 or 1-01:00:00)")


_SIZE = re.compile(r"^(-?\d+(?:\.\d+)?)\s*([kmgtpe]?)(i?)(b?)$", re.I)
_POWERS = "kmgtpe"


def parse_size(text: str) -> float:
    """Bytes from `512`, `10K`, `1.5 GiB`, `3TB`, `100M` (binary units: IEC names and Slurm's
    single letters are powers of 1024; `kB`/`MB` written with B and no i are powers of 1000)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size (write 512, 10K, 1.5GiB, 3TB)")
    number, prefix, iec, b = match.groups()
    if not prefix:
        return float(number)
    power = _POWERS.index(prefix.lower()) + 1
    base = 1000.0 if (b and not iec) else 1024.0
    return float(number) * base**power


def parse_number(text: str) -> float:
    try:
        return float(text.strip().rstrip("%"))
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def parse_time(text: str) -> datetime:
    """A timestamp as typed: ISO 8601 (`2026-11-29`, `2026-11-29T16:04`), local time when no zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a time (write 2026-11-29 or 2026-11-29T16:04)") from None
    return value if value.tzinfo else value.astimezone()


# -- human renderings ----------------------------------------------------------------------------
def duration(seconds: float | None, missing: str = "-", unlimited: str = "UNLIMITED") -> str:
    """`45s`, `5m 3s`, `3h 20m`, `2d 3h`, `365 days`: the two largest units, no zero padding."""
    if seconds is None:
        return missing
    if math.isinf(seconds):
        return unlimited
    total = int(round(seconds))
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        if not hours:
            return f"{sign}{days} day{'s' if days != 1 else ''}"
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m" if minutes else f"{sign}{hours}h"
    if minutes:
        return f"{sign}{minutes}m {secs}s" if secs else f"{sign}{minutes}m"
    return f"{sign}{secs}s"


def size(n: float | None, missing: str = "-") -> str:
    """Binary units: `512 B`, `1.5 KiB`, `10.0 GiB`."""
    if n is None:
        return missing
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover - the loop returns at PiB


def ago(seconds: float) -> str:
    if seconds < 0:
        return f"in {duration(-seconds)}"
    if seconds < 1:
        return "just now"
    return f"{duration(seconds)} ago"


def when(value: datetime | str | None, now: datetime | None = None, missing: str = "-") -> str:
    """Local time with how long ago: `2026-11-29 16:04:05 (3m 2s ago)`."""
    if value is None or value == "":
        return missing
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    local = moment.astimezone()
    return f"{local:%Y-%m-%d %H:%M:%S} ({ago((now - moment).total_seconds())})"


def plain(value: Any, missing: str = "-") -> str:
    """A detail value without Python spellings: no None, True/False as yes/no, lists joined."""
    if value is None or value == "" or value == () or value == []:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(plain(v) for v in value) or missing
    if isinstance(value, dict):
        return ", ".join(f"{k}={plain(v)}" for k, v in value.items()) or missing
    return str(value)
