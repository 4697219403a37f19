"""Immutable snapshots: what one source looked like at one moment.

A snapshot is the only thing screens, the one-shot JSON output, plans and SSH viewers read.
Items are keyed by a stable id (VM UUID, PCI address, job id, pod UID, run id) so that a table
can update by key and touch only the rows that changed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Mapping


class Status(str, enum.Enum):
    OK = "ok"
    ERROR = "error"
    UNCONFIGURED = "unconfigured"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def is_model(kind: type) -> bool:
    """A pydantic model class, known without importing pydantic (see cockpit/items.py). Frozen
    items of one are compared by their fields (`__dict__`): pydantic's own __eq__ costs more."""
    return hasattr(kind, "__pydantic_fields__")


def to_jsonable(value: Any) -> Any:
    """Items may be pydantic models or plain JSON-ready data; sections may nest them. (A model
    is known by its model_dump: this module does not import pydantic, see cockpit/items.py.)"""
    dump = getattr(value, "model_dump", None)
    if dump is not None and not isinstance(value, type):
        return dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


@dataclass(frozen=True)
class FetchResult:
    """What a source's fetch returns: the primary items plus named secondary sections
    (SLURM nodes and partitions, BeeGFS targets, Kubernetes nodes, ...)."""

    items: Mapping[str, Any]
    sections: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, items: list[Any] | Mapping[str, Any], **sections: Any) -> "FetchResult":
        if not isinstance(items, Mapping):
            items = {item.key(): item for item in items}
        return cls(items=items, sections=sections)


@dataclass(frozen=True)
class Snapshot:
    source: str
    status: Status
    fetched_at: datetime | None = None
    error: str | None = None
    items: Mapping[str, Any] = field(default_factory=dict)
    sections: Mapping[str, Any] = field(default_factory=dict)
    # True when items are the last good data kept through a failing fetch.
    stale: bool = False
    # When the current run of errors began (age shown on screen), and the next retry.
    error_since: datetime | None = None
    next_retry_at: datetime | None = None
    # For unconfigured sources: one line telling the user how to configure it.
    hint: str | None = None
    # Monotonic counter bumped on every published change; lets viewers skip unchanged frames.
    version: int = 0

    def __post_init__(self) -> None:
        # A read-only view is kept as it is: it is another snapshot's (passed on by evolve(), or by
        # the hub for a fetch that found the same data), so viewers can tell unchanged data by
        # identity (`new.items is old.items`) instead of comparing it. Nothing else builds views.
        if type(self.items) is not MappingProxyType:
            object.__setattr__(self, "items", MappingProxyType(dict(self.items)))
        if type(self.sections) is not MappingProxyType:
            object.__setattr__(self, "sections", MappingProxyType(dict(self.sections)))

    @classmethod
    def unconfigured(cls, source: str, hint: str) -> "Snapshot":
        return cls(source=source, status=Status.UNCONFIGURED, hint=hint)

    @classmethod
    def pending(cls, source: str) -> "Snapshot":
        """Before the first fetch finished: an OK status with no data and no fetch time."""
        return cls(source=source, status=Status.OK)

    def evolve(self, **changes: Any) -> "Snapshot":
        return replace(self, **changes)

    def same_data(self, other: "Snapshot | None") -> bool:
        """True when `other` shows exactly what this one shows but for the fetch time: the same
        status, error and staleness, and the very same items and sections (the hub passes the
        previous snapshot's on when a fetch found nothing new). Cheap: no item is compared."""
        return (other is not None and other.items is self.items and other.sections is self.sections
                and other.source == self.source and other.status is self.status and other.error == self.error
                and other.stale == self.stale and other.hint == self.hint
                and (other.fetched_at is None) == (self.fetched_at is None))

    def age_s(self, now: datetime | None = None) -> float | None:
        if self.fetched_at is None:
            return None
        return ((now or utcnow()) - self.fetched_at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        """The documented one-shot contract for one source (see README, 'Snapshot JSON')."""
        out: dict[str, Any] = {
            "status": self.status.value,
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "error": self.error,
            "stale": self.stale,
            "items": [to_jsonable(v) for v in self.items.values()],
        }
        if self.hint:
            out["hint"] = self.hint
        for name, value in self.sections.items():
            out[name] = to_jsonable(value)
        return out
