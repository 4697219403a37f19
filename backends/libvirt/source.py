"""The `vms` source: every domain on every configured libvirt host, one batched read per tick."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from backends.libvirt.connection import LibvirtHostConnection, shared_connection
from backends.libvirt.domains import CpuMeter, read_domains
from cockpit.hub import UnconfiguredSource
from cockpit.snapshot import FetchResult
from cockpit.sources import HINTS, env_value

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig


class LibvirtSource:
    name = "vms"

    def __init__(self, hosts: dict[str, str]) -> None:
        self.hosts = {name: shared_connection(name, uri) for name, uri in hosts.items()}
        self._meter = CpuMeter()

    def host(self, name: str | None = None) -> LibvirtHostConnection:
        if name is None:
            if len(self.hosts) != 1:
                raise ValueError(f"several libvirt hosts ({', '.join(self.hosts)}): name one")
            return next(iter(self.hosts.values()))
        try:
            return self.hosts[name]
        except KeyError:
            raise ValueError(f"unknown libvirt host {name!r} (known: {', '.join(self.hosts)})") from None

    async def fetch(self) -> FetchResult:
        results = await asyncio.gather(
            *(h.call(lambda conn, h=h: read_domains(conn, h.name, self._meter)) for h in self.hosts.values()),
            return_exceptions=True,
        )
        items: list[Any] = []
        errors = []
        for host, result in zip(self.hosts.values(), results):
            if isinstance(result, BaseException):
                errors.append(f"{host.name}: {result}")
            else:
                items.extend(result)
        if errors and not items:
            raise RuntimeError("; ".join(errors))
        return FetchResult.of(items, host_errors=errors)

    async def find_domain(self, name: str, host: str | None = None) -> tuple[LibvirtHostConnection, str]:
        """(host connection, domain name) for a VM name; error names the hosts searched."""
        candidates = [self.host(host)] if host else list(self.hosts.values())
        for conn in candidates:
            found = await conn.call(lambda c: name in [d.name() for d in c.listAllDomains()])
            if found:
                return conn, name
        raise ValueError(f"no VM named {name!r} on {', '.join(c.name for c in candidates)}")

    def close(self) -> None:
        # Connections are shared with the gpus source; forget_connections() closes them.
        pass


def configured_hosts(loaded: "LoadedConfig") -> dict[str, str]:
    hosts = {h.name: h.uri for h in loaded.config.cockpit.libvirt.hosts}
    if not hosts:
        uri = env_value(loaded, "LIBVIRT_DEFAULT_URI")
        if uri:
            hosts = {"default": uri}
    return hosts


def build_source(loaded: "LoadedConfig") -> Any:
    hosts = configured_hosts(loaded)
    if not hosts:
        return UnconfiguredSource("vms", HINTS["vms"])
    return LibvirtSource(hosts)
