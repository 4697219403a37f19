"""Queue filtering and sorting: pure functions shared by the SLURM pane, plans and tests.

Filter syntax (what `/` takes on the queue pane): whitespace-separated terms, all must match.
    user:alice        partition:gpu (or p:gpu)     state:R,PD (long names or squeue codes)
    name:train  account:x  reason:Resources  node:node3   -> regex on that field
    anything else     -> case-insensitive regex on id, name, user, partition, state, reason, nodes
    !term             -> invert that term (e.g. !state:CD  !user:root)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

STATE_CODES = {
    "PD": "PENDING", "R": "RUNNING", "S": "SUSPENDED", "CG": "COMPLETING", "CD": "COMPLETED", "CA": "CANCELLED",
    "F": "FAILED", "TO": "TIMEOUT", "NF": "NODE_FAIL", "PR": "PREEMPTED", "BF": "BOOT_FAIL", "DL": "DEADLINE",
    "OOM": "OUT_OF_MEMORY", "RQ": "REQUEUED", "RH": "REQUEUE_HOLD", "RD": "RESV_DEL_HOLD", "SE": "SPECIAL_EXIT",
}
FIELD_ALIASES = {"u": "user", "p": "partition", "s": "state", "n": "name", "a": "account", "r": "reason",
                 "node": "nodes", "nodes": "nodes", "user": "user", "partition": "partition", "state": "state",
                 "name": "name", "account": "account", "reason": "reason", "id": "display_id"}
FREE_TEXT_FIELDS = ("display_id", "name", "user", "partition", "state", "reason", "nodes")


class FilterError(ValueError):
    """A filter term that cannot work (bad regex, unknown field); the message names the term."""


@dataclass(frozen=True)
class Term:
    field: str | None  # None: free text over FREE_TEXT_FIELDS
    test: Callable[[str], bool]
    invert: bool
    source: str


def _get(job: Any, field: str) -> str:
    value = job.get(field) if isinstance(job, dict) else getattr(job, field, None)
    return "" if value is None else str(value)


def _states(spec: str) -> set[str]:
    return {STATE_CODES.get(s.upper(), s.upper()) for s in spec.split(",") if s}


def parse_filter(query: str) -> list[Term]:
    terms = []
    for raw in query.split():
        invert = raw.startswith("!")
        body = raw[1:] if invert else raw
        if not body:
            raise FilterError(f"'{raw}': nothing after '!'")
        key, sep, value = body.partition(":")
        field = FIELD_ALIASES.get(key.lower()) if sep else None
        if sep and field is None and key.lower() != "re":
            raise FilterError(f"'{raw}': unknown field '{key}' (known: user, partition, state, name, account, "
                              "reason, node, id)")
        pattern = value if sep else body
        if field == "state":
            wanted = _states(pattern)
            terms.append(Term("state", lambda v, w=wanted: v.upper() in w, invert, raw))
            continue
        if field in ("user", "partition", "account") and re.fullmatch(r"[\w.,-]+", pattern):
            names = {p for p in pattern.split(",") if p}
            terms.append(Term(field, lambda v, n=names: v in n, invert, raw))
            continue
        try:
            rx = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"'{raw}': bad regular expression ({exc})") from None
        terms.append(Term(field, lambda v, r=rx: r.search(v) is not None, invert, raw))
    return terms


def matches(job: Any, terms: Sequence[Term]) -> bool:
    for term in terms:
        if term.field is None:
            hit = any(term.test(_get(job, f)) for f in FREE_TEXT_FIELDS)
        else:
            hit = term.test(_get(job, term.field))
        if hit == term.invert:
            return False
    return True


def filter_jobs(jobs: Iterable[Any], query: str) -> list[Any]:
    terms = parse_filter(query)
    return [j for j in jobs if matches(j, terms)] if terms else list(jobs)


def sort_key(field: str) -> Callable[[Any], tuple]:
    """Numbers sort as numbers, missing values last, job ids numerically."""
    def key(job: Any) -> tuple:
        value = job.get(field) if isinstance(job, dict) else getattr(job, field, None)
        if field == "display_id":
            value = job.get("job_id") if isinstance(job, dict) else getattr(job, "job_id", None)
        if value is None:
            return (1, 0, "")
        if isinstance(value, (int, float)):
            return (0, value, "")
        return (0, 0, str(value).lower()) if not hasattr(value, "timestamp") else (0, value.timestamp(), "")
    return key


def sort_jobs(jobs: Iterable[Any], field: str, descending: bool = False) -> list[Any]:
    items = list(jobs)
    present = [j for j in items if sort_key(field)(j)[0] == 0]
    missing = [j for j in items if sort_key(field)(j)[0] == 1]
    return sorted(present, key=sort_key(field), reverse=descending) + missing


def queue_view(jobs: Iterable[Any], query: str = "", sort: str = "display_id", descending: bool = False) -> list[Any]:
    """What the queue pane shows: filtered, then sorted."""
    return sort_jobs(filter_jobs(jobs, query), sort, descending)
