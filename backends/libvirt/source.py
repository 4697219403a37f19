"""The `vms` source: every domain on every configured libvirt host, one batched read per tick,
plus libvirt domain events (a lifecycle change triggers an early fetch)."""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any, Callable

from backends.libvirt.connection import LibvirtHostConnection, shared_connection
from backends.libvirt.domains import DomainReader
from backends.libvirt.events import DomainEvent, EventSubscription
from cockpit.source_types import NotConfigured, env_value
from cockpit.snapshot import FetchResult

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig

RECENT_EVENTS = 50


class LibvirtSource:
    name = "vms"

    def __init__(self, hosts: dict[str, str]) -> None:
        self.hosts = {name: shared_connection(name, uri) for name, uri in hosts.items()}
        self.readers = {name: DomainReader(name) for name in hosts}
        self.events: collections.deque[DomainEvent] = collections.deque(maxlen=RECENT_EVENTS)
        self._listeners: list[Callable[[DomainEvent], None]] = []

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
            *(h.call(self.readers[name].read) for name, h in self.hosts.items()),
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
        items.sort(key=lambda i: (i.host, i.name))
        return FetchResult.of(items, host_errors=errors, events=[e.as_json() for e in list(self.events)[-10:]])

    # -- events ---------------------------------------------------------------------------------
    def listen(self, callback: Callable[[DomainEvent], None]) -> Callable[[], None]:
        """Extra consumers of domain events (tests, the lifecycle view)."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _on_event(self, event: DomainEvent, poke: Callable[[], None] | None) -> None:
        self.events.append(event)
        reader = self.readers.get(event.host)
        if reader is not None:
            reader.invalidate(event.uuid)
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                pass
        if poke is not None:
            poke()

    async def watch(self, push: Any, poke: Callable[[], None]) -> None:
        """Runs for the collector's lifetime: events poke an early fetch. A host whose connection
        was reopened gets its callbacks registered again (checked every few seconds)."""
        loop = asyncio.get_running_loop()
        subs = [EventSubscription(h, lambda ev: self._on_event(ev, poke), loop) for h in self.hosts.values()]
        try:
            while True:
                for sub in subs:
                    try:
                        await sub.ensure()
                    except Exception:  # host down: polling reports it; try again later
                        pass
                await asyncio.sleep(5.0)
        finally:
            for sub in subs:
                await sub.close()

    async def start_events(self) -> Callable[[], Any]:
        """Register event callbacks without a collector (actions, tests); returns the closer."""
        loop = asyncio.get_running_loop()
        subs = [EventSubscription(h, lambda ev: self._on_event(ev, None), loop) for h in self.hosts.values()]
        for sub in subs:
            await sub.ensure()

        async def close() -> None:
            for sub in subs:
                await sub.close()

        return close

    def invalidate(self, host: str, uuid: str | None = None) -> None:
        """An action changed a domain's definition: re-read its XML on the next tick."""
        reader = self.readers.get(host)
        if reader is not None:
            reader.invalidate(uuid)

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
        raise NotConfigured()
    return LibvirtSource(hosts)
