"""Domain events from libvirt handed to asyncio: lifecycle (defined, started, stopped, ...) and
device added/removed. Callbacks arrive on libvirt's event thread (see connection.py) and are
moved onto the event loop with call_soon_threadsafe."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from backends.libvirt.connection import LibvirtHostConnection
from cockpit.snapshot import utcnow

LIFECYCLE = ("defined", "undefined", "started", "suspended", "resumed", "stopped", "shutdown",
             "pmsuspended", "crashed")


@dataclass(frozen=True)
class DomainEvent:
    host: str
    vm: str
    uuid: str
    event: str  # one of LIFECYCLE, or device-added / device-removed
    detail: int | str
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"host": self.host, "vm": self.vm, "uuid": self.uuid, "event": self.event,
                "detail": self.detail, "at": self.at.isoformat()}


class EventSubscription:
    """Callbacks registered on one host's shared connection (must be the shared one: the test
    driver keeps separate state per connection, so a second connection would see nothing)."""

    def __init__(self, host: LibvirtHostConnection, on_event: Callable[[DomainEvent], None],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.host = host
        self.on_event = on_event
        self.loop = loop
        self._ids: list[int] = []
        self.generation = -1

    def _deliver(self, dom: Any, event: str, detail: int | str) -> None:
        try:
            ev = DomainEvent(self.host.name, dom.name(), dom.UUIDString(), event, detail, utcnow())
        except Exception:
            return
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.on_event, ev)

    def register(self, conn: Any) -> None:
        """Runs in a worker thread holding the host's lock."""
        import libvirt

        def lifecycle(_conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
            name = LIFECYCLE[event] if 0 <= event < len(LIFECYCLE) else f"event-{event}"
            self._deliver(dom, name, detail)

        def added(_conn: Any, dom: Any, alias: str, _opaque: Any) -> None:
            self._deliver(dom, "device-added", alias)

        def removed(_conn: Any, dom: Any, alias: str, _opaque: Any) -> None:
            self._deliver(dom, "device-removed", alias)

        self._ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)]
        for event_id, cb in ((libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, added),
                             (libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, removed)):
            try:
                self._ids.append(conn.domainEventRegisterAny(None, event_id, cb, None))
            except libvirt.libvirtError:  # drivers without device events
                pass
        self.generation = self.host.generation

    def deregister(self, conn: Any) -> None:
        for callback_id in self._ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except Exception:
                pass
        self._ids = []

    async def ensure(self) -> None:
        """(Re)register when the host's connection was (re)opened since we last did."""
        def check(conn: Any) -> None:
            if self.generation != self.host.generation or not self._ids:
                self.register(conn)

        await self.host.call(check)

    async def close(self) -> None:
        if self._ids and self.generation == self.host.generation:
            try:
                await self.host.call(self.deregister)
            except Exception:
                pass
