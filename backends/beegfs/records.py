"""What the BeeGFS parsers produce (plain records), their error, and the unit conversions both
BeeGFS 7 and BeeGFS 8 output need."""

from __future__ import annotations

import re
from dataclasses import dataclass

# TargetStateStore::stateToStr (BeeGFS 7) and ctl/pkg/ctl/target/list.go (BeeGFS 8) spell them alike;
# `resyncing` is beegfs-ctl's own word for Needs-resync while a resync job runs.
REACHABILITY = ("Online", "Probably-offline", "Offline")
CONSISTENCY = ("Good", "Needs-resync", "Bad", "resyncing")


class ParseError(ValueError):
    """Output of a BeeGFS command that we do not understand."""

    def __init__(self, what: str, problem: str, line_no: int | None = None, line: str | None = None) -> None:
        where = f" line {line_no}" if line_no is not None else ""
        shown = f": {line.strip()[:120]!r}" if line is not None else ""
        super().__init__(f"cannot parse `{what}` output{where}: {problem}{shown}")


@dataclass(frozen=True)
class NodeRecord:
    type: str  # management | meta | storage | client
    name: str
    num_id: int | None
    reachable: bool | None = None
    address: str | None = None


@dataclass(frozen=True)
class TargetState:
    type: str  # meta | storage
    id: int
    reachability: str | None
    consistency: str | None
    node: str | None = None
    node_id: int | None = None
    alias: str | None = None
    mirror_group: int | None = None  # beegfs-ctl --mirrorgroups
    member_type: str | None = None  # primary | secondary


@dataclass(frozen=True)
class TargetSpace:
    type: str
    id: int
    capacity_pool: str | None
    total_bytes: int | None
    free_bytes: int | None
    total_inodes: int | None
    free_inodes: int | None


@dataclass(frozen=True)
class HealthLine:
    status: str  # HEALTHY | DEGRADED | CRITICAL | UNKNOWN
    check: str
    summary: str | None


_IEC = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5, "E": 1024**6}
_SI = {"": 1, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "P": 1000**5, "E": 1000**6}


def bytes_from(value: str) -> int:
    """'7448.1GiB' (beegfs-ctl), '7.3TiB' / '512.0B' (beegfs FormatPrefix IEC), '997409685504' (--raw)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*(?:([KMGTPE])i)?B?\s*", value)
    if not m:
        raise ValueError(f"not a byte size: {value!r}")
    return round(float(m.group(1)) * _IEC[m.group(2) or ""])


def count_from(value: str) -> int:
    """'745.4M' -> 745400000: beegfs-ctl prints inodes in millions (M = 1000*1000), beegfs 8 SI."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([kKMGTPE]?)\s*", value)
    if not m:
        raise ValueError(f"not a count: {value!r}")
    return round(float(m.group(1)) * _SI[m.group(2)])
