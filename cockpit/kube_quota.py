"""ResourceQuota arithmetic: would this workload fit in the namespace's quota?

Pure functions over API objects. Quantities follow k8s.io/apimachinery resource.Quantity
(decimal SI suffixes, binary Ki/Mi/Gi..., milli 'm', exponents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from cockpit.kube_status import replica_specs

_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_QTY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]i?|)$")


def parse_quantity(value: Any) -> Decimal:
    """'500m' -> 0.5, '1Gi' -> 1073741824, 2 -> 2. Raises ValueError naming the bad text."""
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    text = str(value).strip()
    m = _QTY.match(text)
    if not m or (m.group(2).endswith("i") and m.group(2)[0] in "mnu"):
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, suffix = m.group(1), m.group(2)
    try:
        base = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from None
    if suffix[:1] in ("e", "E"):
        return base * (Decimal(10) ** int(suffix[1:]))
    return base * _SUFFIX[suffix]


def format_quantity(resource: str, value: Decimal) -> str:
    """Readable: memory in Gi/Mi, CPU in cores or millicores, counts as integers."""
    if "memory" in resource or "storage" in resource:
        for unit in ("Ti", "Gi", "Mi", "Ki"):
            if value >= _SUFFIX[unit]:
                return f"{(value / _SUFFIX[unit]).normalize():f}{unit}"
        return f"{value.normalize():f}"
    if "cpu" in resource and value != value.to_integral_value():
        return f"{(value * 1000).to_integral_value()}m"
    return f"{value.normalize():f}"


def _pod_requests(template: Mapping[str, Any]) -> dict[str, Decimal]:
    """requests.* and limits.* of one pod template (requests default to limits, as the apiserver does)."""
    out: dict[str, Decimal] = {}
    for c in ((template.get("spec") or {}).get("containers") or []):
        res = c.get("resources") or {}
        limits = res.get("limits") or {}
        requests = {**limits, **(res.get("requests") or {})}
        for name, qty in requests.items():
            out[f"requests.{name}"] = out.get(f"requests.{name}", Decimal(0)) + parse_quantity(qty)
        for name, qty in limits.items():
            out[f"limits.{name}"] = out.get(f"limits.{name}", Decimal(0)) + parse_quantity(qty)
    out["pods"] = Decimal(1)
    return out


def workload_requests(manifest: Mapping[str, Any]) -> dict[str, Decimal]:
    """What a Pod, Job, PyTorchJob or MPIJob asks of the quota in total (all replicas)."""
    kind = manifest.get("kind", "")
    if kind == "Pod":
        specs = {"Pod": {"replicas": 1, "template": manifest}}
    else:
        specs = replica_specs(kind, manifest)
    total: dict[str, Decimal] = {}
    for rs in specs.values():
        replicas = int(rs.get("replicas", 1) or 0)
        for name, qty in _pod_requests(rs.get("template") or {}).items():
            total[name] = total.get(name, Decimal(0)) + qty * replicas
    return total


# A quota's bare names mean requests: 'cpu' == 'requests.cpu'.
def _canonical(name: str) -> str:
    if name in ("cpu", "memory", "ephemeral-storage"):
        return f"requests.{name}"
    return name


@dataclass(frozen=True)
class Shortfall:
    quota: str
    resource: str
    hard: Decimal
    used: Decimal
    requested: Decimal

    @property
    def available(self) -> Decimal:
        return max(Decimal(0), self.hard - self.used)

    def describe(self) -> str:
        f = lambda v: format_quantity(self.resource, v)  # noqa: E731
        return (f"{self.resource} in quota {self.quota}: used {f(self.used)}, available {f(self.available)} "
                f"of {f(self.hard)}, requested {f(self.requested)}")


@dataclass(frozen=True)
class QuotaCheck:
    namespace: str
    quotas: tuple[str, ...]
    shortfalls: tuple[Shortfall, ...]
    # resource -> (used, hard, requested) for every constrained resource the workload touches
    lines: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        return not self.shortfalls

    def summary(self) -> str:
        if not self.quotas:
            return f"namespace {self.namespace} has no ResourceQuota"
        if self.fits:
            return f"fits the quota of namespace {self.namespace}: " + "; ".join(self.lines)
        return f"would not fit in namespace {self.namespace}: " + "; ".join(s.describe() for s in self.shortfalls)


def check_quota(namespace: str, quotas: Iterable[Mapping[str, Any]], requested: Mapping[str, Decimal]) -> QuotaCheck:
    """Compare the workload's requests with every quota's status.hard/status.used (spec.hard when
    the quota controller has not filled status yet)."""
    names, shortfalls, lines = [], [], []
    for q in quotas:
        qname = (q.get("metadata") or {}).get("name", "?")
        names.append(qname)
        status = q.get("status") or {}
        hard = status.get("hard") or (q.get("spec") or {}).get("hard") or {}
        used = status.get("used") or {}
        for raw_name, raw_hard in hard.items():
            resource = _canonical(raw_name)
            want = requested.get(resource)
            if not want:
                continue
            h = parse_quantity(raw_hard)
            u = parse_quantity(used.get(raw_name, 0))
            lines.append(f"{resource} used {format_quantity(resource, u)} + requested "
                         f"{format_quantity(resource, want)} of {format_quantity(resource, h)}")
            if u + want > h:
                shortfalls.append(Shortfall(qname, resource, h, u, want))
    return QuotaCheck(namespace, tuple(names), tuple(shortfalls), tuple(lines))
