"""The `cockpit.beegfs` settings of the storage (BeeGFS) source (validated with the rest of the config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cockpit.source_types import Settings


class BeegfsSettings(Settings):
    management_host: str = Field(min_length=1)
    ssh_user: str | None = None
    ssh_port: int = 22
    ssh_key: str | None = None
    client_hosts: list[str] = Field(default_factory=list)
    mount_point: str = "/mnt/beegfs"
    # 'auto' detects BeeGFS 8's `beegfs` tool or BeeGFS 7's `beegfs-ctl`.
    tool: Literal["auto", "beegfs", "beegfs-ctl"] = "auto"
    # Path of a known_hosts file for these hosts; None: ~/.ssh/known_hosts (and ~/.ssh/config).
    known_hosts: str | None = None
    command_timeout: float = Field(default=20.0, gt=0)
    # Health thresholds: used space / used inodes per target, in percent.
    capacity_warn_percent: float = Field(default=85.0, gt=0, le=100)
    capacity_critical_percent: float = Field(default=95.0, gt=0, le=100)
    inode_warn_percent: float = Field(default=85.0, gt=0, le=100)
    inode_critical_percent: float = Field(default=95.0, gt=0, le=100)
    # Throughput probe defaults; the seeds ask for more than 1 GB/s on large files.
    target_mb_s: float = Field(default=1000.0, gt=0)
    probe_size_mb: int = Field(default=1024, ge=1)
    probe_files: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> "BeegfsSettings":
        if self.capacity_warn_percent > self.capacity_critical_percent:
            raise ValueError("capacity_warn_percent must be <= capacity_critical_percent")
        if self.inode_warn_percent > self.inode_critical_percent:
            raise ValueError("inode_warn_percent must be <= inode_critical_percent")
        return self
