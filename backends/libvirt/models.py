"""Snapshot items for the `vms` source (field names are part of the JSON contract)."""

from __future__ import annotations

from cockpit.items import Item


class VmItem(Item):
    name: str
    uuid: str
    host: str
    state: str  # running | paused | shutoff | crashed | pmsuspended | blocked | shutdown | nostate
    vcpus: int
    memory_mib: int
    cpu_percent: float | None = None
    ips: tuple[str, ...] = ()
    gpus: tuple[str, ...] = ()  # PCI addresses of passed-through devices (all functions)
    autostart: bool = False

    def key(self) -> str:
        return f"{self.host}/{self.uuid}"
