"""Telemetry of passed-through GPUs, read inside the guest that holds them.

A GPU bound to vfio-pci and given to a VM is invisible to the host's NVML. The guest's driver
sees it, so we ask the guest: `nvidia-smi --query-gpu=... --format=csv` over SSH (asyncssh pool,
~/.ssh/config honored), and attribute each row to the HOST PCI address of the device. Guest bus
ids differ from host ones: the domain XML's guest-side <address> maps them back; without it,
the n-th GPU row goes to the n-th GPU hostdev (libvirt assigns guest slots in XML order).
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from backends.gpus.models import NvmlReading
from backends.gpus.nvml import normalize_bus_id

QUERY_FIELDS = ("index", "pci.bus_id", "name", "uuid", "utilization.gpu", "memory.used", "memory.total",
                "temperature.gpu", "power.draw")
QUERY_COMMAND = f"nvidia-smi --query-gpu={','.join(QUERY_FIELDS)} --format=csv"
MISSING = {"", "[n/a]", "n/a", "[not supported]", "[unknown error]", "[insufficient permissions]"}


def _value(text: str) -> str | None:
    text = text.strip()
    return None if text.lower() in MISSING else text


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    head = text.split()[0] if text.split() else ""
    try:
        return float(head)
    except ValueError:
        return None


def parse_query_csv(text: str) -> list[dict[str, str | None]]:
    """Rows of `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]` keyed by field name.
    With a header, names come from it ('utilization.gpu [%]' -> 'utilization.gpu'); without one,
    the fields are assumed to be QUERY_FIELDS in order."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    reader = csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True)
    rows = list(reader)
    first = [c.strip() for c in rows[0]]
    has_header = any(c.split(" [")[0] in QUERY_FIELDS or c == "index" for c in first) and not first[0].isdigit()
    names = [c.split(" [")[0].strip() for c in first] if has_header else list(QUERY_FIELDS)
    out = []
    for row in rows[1:] if has_header else rows:
        out.append({name: _value(cell) for name, cell in zip(names, row)})
    return out


def reading_from_row(row: dict[str, str | None], vm: str) -> NvmlReading:
    def integer(name: str) -> int | None:
        number = _number(row.get(name))
        return int(number) if number is not None else None

    power = _number(row.get("power.draw"))
    return NvmlReading(
        utilization_pct=integer("utilization.gpu"),
        memory_used_mib=integer("memory.used"),
        memory_total_mib=integer("memory.total"),
        temperature_c=integer("temperature.gpu"),
        power_w=round(power, 1) if power is not None else None,
        name=row.get("name"),
        uuid=row.get("uuid"),
        source="guest-nvidia-smi",
        vm=vm,
    )


@dataclass(frozen=True)
class GuestGpus:
    """One running VM holding GPUs: where to reach it and which host devices it holds."""

    vm: str
    address: str  # IP or ssh host alias
    gpus: tuple[tuple[str, str | None], ...]  # (host PCI address, guest PCI address or None), XML order


def attribute(rows: list[dict[str, str | None]], guest: GuestGpus) -> dict[str, NvmlReading]:
    """Map nvidia-smi rows to host PCI addresses."""
    by_guest = {g: h for h, g in guest.gpus if g}
    out: dict[str, NvmlReading] = {}
    unmatched = []
    for row in rows:
        bus = row.get("pci.bus_id")
        host_address = by_guest.get(normalize_bus_id(bus)) if bus else None
        if host_address is not None:
            out[host_address] = reading_from_row(row, guest.vm)
        else:
            unmatched.append(row)
    remaining = [h for h, _ in guest.gpus if h not in out]
    unmatched.sort(key=lambda r: int(_number(r.get("index")) or 0))
    for host_address, row in zip(remaining, unmatched):
        out[host_address] = reading_from_row(row, guest.vm)
    return out


@dataclass
class GuestTelemetry:
    """Reads guests over SSH, at most every `min_interval` seconds per VM; a guest that does not
    answer is reported in `errors`, never raised."""

    pool: Any  # backends.ssh.pool.SshPool
    user: str | None = None
    port: int | None = None
    min_interval: float = 5.0
    timeout: float = 5.0
    insecure_no_host_check: bool = False
    client_keys: tuple[str, ...] = ()
    _cache: dict[str, tuple[float, dict[str, NvmlReading]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def target(self, address: str) -> Any:
        from backends.ssh.pool import SshTarget

        return SshTarget(host=address, port=self.port, user=self.user, client_keys=self.client_keys,
                         insecure_no_host_check=self.insecure_no_host_check)

    async def _one(self, guest: GuestGpus) -> dict[str, NvmlReading]:
        cached = self._cache.get(guest.vm)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.min_interval:
            return cached[1]
        try:
            result = await asyncio.wait_for(self.pool.run(self.target(guest.address), QUERY_COMMAND,
                                                          timeout=self.timeout), self.timeout + 1)
        except Exception as exc:
            self.errors[guest.vm] = f"{guest.vm} ({guest.address}): {exc}"
            self._cache[guest.vm] = (now, {})
            return {}
        if not result.ok:
            self.errors[guest.vm] = f"{guest.vm}: nvidia-smi exited {result.exit_status}: {result.stderr.strip()[:200]}"
            readings: dict[str, NvmlReading] = {}
        else:
            self.errors.pop(guest.vm, None)
            readings = attribute(parse_query_csv(result.stdout), guest)
        self._cache[guest.vm] = (now, readings)
        return readings

    async def read(self, guests: Sequence[GuestGpus]) -> dict[str, NvmlReading]:
        wanted = {g.vm for g in guests}
        for vm in [v for v in self._cache if v not in wanted]:
            self._cache.pop(vm, None)
            self.errors.pop(vm, None)
        results = await asyncio.gather(*(self._one(g) for g in guests))
        out: dict[str, NvmlReading] = {}
        for readings in results:
            out.update(readings)
        return out
