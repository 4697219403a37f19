"""Shared-storage health: one verdict (ok / degraded / critical) and the reasons behind it.

Pure functions over what the BeeGFS backend collected, so the rules can be read and tested in one
place. The rules, in words:
- management, metadata and storage nodes must be reachable (unreachable: critical);
- a target that is Offline or Bad is critical; Probably-offline, Needs-resync or resyncing degrade;
- the capacity pool the management put a target in: low degrades, emergency is critical (BeeGFS
  7 beegfs-df, BeeGFS 8 target list); used space and used inodes per target against warn /
  critical thresholds, on both versions;
- every configured client must have the file system mounted, and BeeGFS services must be active;
- a recent throughput probe below the target (1 GB/s by default) degrades;
- problems the BeeGFS 8 `beegfs health check` reports are added as reasons too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # the inputs are the BeeGFS backend's items; nothing here imports it at run time
    from backends.beegfs.models import ClientMount, ServiceState, StorageNode, StorageTarget
    from backends.beegfs.parsers import HealthLine

# A probe older than this no longer says anything about today's throughput.
PROBE_RELEVANCE = timedelta(hours=24)
NODE_TYPE_WORDS = {"management": "management", "meta": "metadata", "storage": "storage", "client": "client"}


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Literal["warning", "critical"]
    subject: str  # what it is about: "target storage:101", "node storage:2", "client node01"
    message: str


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["ok", "degraded", "critical"]
    summary: str
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    capacity_warn: float = 85.0
    capacity_critical: float = 95.0
    inode_warn: float = 85.0
    inode_critical: float = 95.0
    target_mb_s: float = 1000.0

    @classmethod
    def from_settings(cls, settings: Any) -> "Thresholds":
        return cls(
            capacity_warn=settings.capacity_warn_percent,
            capacity_critical=settings.capacity_critical_percent,
            inode_warn=settings.inode_warn_percent,
            inode_critical=settings.inode_critical_percent,
            target_mb_s=settings.target_mb_s,
        )


def node_reasons(nodes: Sequence[StorageNode]) -> list[Reason]:
    reasons = []
    for kind in ("management", "meta", "storage"):
        if not any(n.type == kind for n in nodes):
            reasons.append(Reason(severity="critical", subject=f"{NODE_TYPE_WORDS[kind]} nodes",
                                  message=f"no {NODE_TYPE_WORDS[kind]} node is registered"))
    for node in nodes:
        if node.reachable is False and node.type != "client":
            reasons.append(Reason(severity="critical", subject=f"node {node.id}",
                                  message=f"{NODE_TYPE_WORDS[node.type]} node {node.name} is unreachable"))
    return reasons


def _level(used: float | None, warn: float, critical: float) -> str | None:
    if used is None:
        return None
    if used >= critical:
        return "critical"
    if used >= warn:
        return "warning"
    return None


def target_reasons(targets: Iterable[StorageTarget], limits: Thresholds) -> list[Reason]:
    reasons = []
    for t in targets:
        subject = f"target {t.key()}"
        where = f" on {t.node}" if t.node else (f" on node {t.node_id}" if t.node_id is not None else "")
        if t.reachability == "Offline":
            reasons.append(Reason(severity="critical", subject=subject, message=f"target {t.id}{where} is offline"))
        elif t.reachability == "Probably-offline":
            reasons.append(Reason(severity="warning", subject=subject, message=f"target {t.id}{where} is probably offline"))
        elif t.reachability is None:
            reasons.append(Reason(severity="warning", subject=subject, message=f"target {t.id}{where} has no known state"))
        if t.consistency == "Bad":
            reasons.append(Reason(severity="critical", subject=subject, message=f"target {t.id}{where} is in consistency state Bad"))
        elif t.consistency == "Needs-resync":
            reasons.append(Reason(severity="warning", subject=subject, message=f"target {t.id}{where} needs a resync"))
        elif t.consistency == "resyncing":
            reasons.append(Reason(severity="warning", subject=subject, message=f"target {t.id}{where} is resyncing"))
        if t.capacity_pool == "emergency":
            reasons.append(Reason(severity="critical", subject=subject,
                                  message=f"target {t.id}{where} is in the emergency capacity pool"))
        elif t.capacity_pool == "low":
            reasons.append(Reason(severity="warning", subject=subject,
                                  message=f"target {t.id}{where} is in the low capacity pool"))
        level = _level(t.used_percent, limits.capacity_warn, limits.capacity_critical)
        if level:
            limit = limits.capacity_critical if level == "critical" else limits.capacity_warn
            reasons.append(Reason(severity=level, subject=subject,  # type: ignore[arg-type]
                                  message=f"target {t.id}{where} space {t.used_percent:.1f}% used (limit {limit:g}%)"))
        level = _level(t.inodes_used_percent, limits.inode_warn, limits.inode_critical)
        if level:
            limit = limits.inode_critical if level == "critical" else limits.inode_warn
            reasons.append(Reason(severity=level, subject=subject,  # type: ignore[arg-type]
                                  message=f"target {t.id}{where} inodes {t.inodes_used_percent:.1f}% used (limit {limit:g}%)"))
    return reasons


def mount_reasons(mounts: Iterable[ClientMount]) -> list[Reason]:
    reasons = []
    for m in mounts:
        if m.error:
            reasons.append(Reason(severity="warning", subject=f"client {m.host}", message=f"cannot check {m.host}: {m.error}"))
        elif not m.mounted:
            reasons.append(Reason(severity="warning", subject=f"client {m.host}",
                                  message=f"{m.mount_point} is not mounted on {m.host}"))
    return reasons


# Services whose failure makes the file system unusable, not just one client.
SERVER_UNITS = ("beegfs-mgmtd", "beegfs-meta", "beegfs-storage")


def service_reasons(services: Iterable[ServiceState]) -> list[Reason]:
    reasons = []
    for s in services:
        if s.active in ("active", "reloading", "activating"):
            continue
        unit = s.unit.removesuffix(".service")
        severity = "critical" if unit.split("@")[0] in SERVER_UNITS else "warning"
        reasons.append(Reason(severity=severity, subject=f"service {s.key()}",  # type: ignore[arg-type]
                              message=f"{unit} on {s.host} is {s.active}" + (f" ({s.sub})" if s.sub else "")))
    return reasons


def probe_reasons(last_probe: dict[str, Any] | None, limits: Thresholds, now: datetime | None = None) -> list[Reason]:
    if not last_probe or not last_probe.get("finished_at"):
        return []
    try:
        finished = datetime.fromisoformat(str(last_probe["finished_at"]))
    except ValueError:
        return []
    now = now or datetime.now(timezone.utc)
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=timezone.utc)
    if now - finished > PROBE_RELEVANCE:
        return []
    write = last_probe.get("write_mb_s")
    if isinstance(write, (int, float)) and write < limits.target_mb_s:
        return [Reason(severity="warning", subject="throughput",
                       message=f"last probe wrote {write:.0f} MB/s, below the {limits.target_mb_s:g} MB/s target")]
    return []


def tool_health_reasons(lines: Iterable[HealthLine]) -> list[Reason]:
    severity = {"CRITICAL": "critical", "DEGRADED": "warning", "UNKNOWN": "warning"}
    return [Reason(severity=severity[h.status], subject=f"beegfs health: {h.check}",  # type: ignore[arg-type]
                   message=f"{h.check}: {h.summary or h.status.lower()}")
            for h in lines if h.status in severity]


def problem_reasons(problems: Iterable[str]) -> list[Reason]:
    """Parts of the collection that failed without failing the whole fetch."""
    return [Reason(severity="warning", subject="collection", message=p) for p in problems]


def verdict(
    *,
    nodes: Sequence[StorageNode],
    targets: Sequence[StorageTarget],
    mounts: Sequence[ClientMount] = (),
    services: Sequence[ServiceState] = (),
    limits: Thresholds = Thresholds(),
    last_probe: dict[str, Any] | None = None,
    tool_health: Sequence[HealthLine] = (),
    problems: Sequence[str] = (),
    now: datetime | None = None,
) -> Verdict:
    reasons = (node_reasons(nodes) + target_reasons(targets, limits) + mount_reasons(mounts)
               + service_reasons(services) + tool_health_reasons(tool_health) + problem_reasons(problems)
               + probe_reasons(last_probe, limits, now))
    if not any(t.type == "storage" for t in targets):
        reasons.append(Reason(severity="critical", subject="storage targets", message="no storage target is registered"))
    reasons = _dedupe(reasons)
    critical = [r for r in reasons if r.severity == "critical"]
    status: Literal["ok", "degraded", "critical"]
    if critical:
        status = "critical"
    elif reasons:
        status = "degraded"
    else:
        status = "ok"
    return Verdict(status=status, summary=summarize(status, reasons, nodes, targets), reasons=tuple(critical + [r for r in reasons if r.severity != "critical"]))


def _dedupe(reasons: list[Reason]) -> list[Reason]:
    seen, out = set(), []
    for r in reasons:
        if r.message not in seen:
            seen.add(r.message)
            out.append(r)
    return out


def summarize(status: str, reasons: Sequence[Reason], nodes: Sequence[StorageNode], targets: Sequence[StorageTarget]) -> str:
    servers = [n for n in nodes if n.type != "client"]
    storage = [t for t in targets if t.type == "storage"]
    total = sum(t.total_bytes or 0 for t in storage)
    free = sum(t.free_bytes or 0 for t in storage)
    used = f", {100.0 * (total - free) / total:.0f}% used" if total else ""
    base = f"{len(servers)} servers, {len(storage)} storage targets{used}"
    if status == "ok":
        return f"healthy: {base}"
    first = reasons[0].message if reasons else ""
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    critical_first = next((r.message for r in reasons if r.severity == "critical"), first)
    return f"{status}: {critical_first}{more}; {base}"
