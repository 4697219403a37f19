"""What the storage source publishes: BeeGFS targets (the items), nodes, client mounts, services.

Field names are part of the one-shot JSON contract (`cockpit snapshot --format json`, key
`storage`); keep them stable and documented in the README.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from cockpit.items import Item
from cockpit.storage_health import Reason, Verdict  # noqa: F401 - re-exported; the verdict is decided in cockpit

NodeType = Literal["management", "meta", "storage", "client"]


def percent_used(total: int | None, free: int | None) -> float | None:
    if not total or free is None:
        return None
    return round(100.0 * (total - free) / total, 1)


class StorageTarget(Item):
    """One metadata or storage target with its state and capacity (bytes and inodes)."""

    id: int
    type: Literal["meta", "storage"]
    node: str | None = None  # string node ID (hostname by default) or BeeGFS 8 alias
    node_id: int | None = None
    alias: str | None = None  # BeeGFS 8 target alias
    reachability: str | None = None  # Online | Probably-offline | Offline
    consistency: str | None = None  # Good | Needs-resync | Bad | resyncing
    capacity_pool: str | None = None  # normal | low | emergency
    total_bytes: int | None = None
    free_bytes: int | None = None
    total_inodes: int | None = None
    free_inodes: int | None = None

    def key(self) -> str:
        return f"{self.type}:{self.id}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def used_percent(self) -> float | None:
        return percent_used(self.total_bytes, self.free_bytes)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def inodes_used_percent(self) -> float | None:
        return percent_used(self.total_inodes, self.free_inodes)


class StorageNode(Item):
    id: str  # "<type>:<numeric id>", e.g. "storage:2"
    num_id: int | None = None
    type: NodeType
    name: str  # string node ID (BeeGFS 7) or alias (BeeGFS 8)
    host: str | None = None  # address the node is reached at, when the tool reports one
    reachable: bool | None = None  # None: not checked

    def key(self) -> str:
        return self.id


class ClientMount(Item):
    """The BeeGFS mount of one configured client host (from its /proc/mounts)."""

    host: str
    mount_point: str
    mounted: bool
    fstype: str | None = None
    options: str | None = None
    error: str | None = None  # the host could not be asked (SSH failure)

    def key(self) -> str:
        return f"{self.host}:{self.mount_point}"


class ServiceState(Item):
    host: str
    unit: str
    active: str  # systemd ActiveState: active, inactive, failed, activating, ...
    sub: str | None = None

    def key(self) -> str:
        return f"{self.host}:{self.unit}"


class Note(BaseModel):
    """A part of the pane that could not be filled this time (an optional command failed or printed
    something unexpected). Notes do not change the verdict: they say what is missing and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    part: str  # what is missing: "capacity (beegfs-df)", "server addresses (beegfs-check-servers)", ...
    message: str
