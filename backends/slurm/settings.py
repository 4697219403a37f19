"""The `cockpit.slurm` settings of the slurm source (validated with the rest of the config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from cockpit.source_types import Settings


class SlurmSettings(Settings):
    transport: Literal["cli", "rest", "ssh", "pyslurm"] = "cli"
    conf: str | None = None  # SLURM_CONF for the CLI transport
    rest_url: str | None = None
    rest_user: str | None = None
    jwt: SecretStr | None = None
    ssh_host: str | None = None
    ssh_user: str | None = None
    ssh_port: int = 22
    ssh_key: str | None = None  # private key for ssh_host; None: ~/.ssh defaults (and ~/.ssh/config)
    known_hosts: str | None = None  # known_hosts for ssh_host; None: ~/.ssh/known_hosts
    log_dir: str | None = None
    jwt_file: str | None = None  # read on every request, so a refreshed token is picked up
    api_version: str | None = None  # slurmrestd openapi version (v0.0.38..); None: detect
    history_hours: float = Field(default=24.0, gt=0)  # sacct window
    history_interval: float = Field(default=30.0, ge=0)  # sacct at most this often, seconds
