"""The `storage` source: BeeGFS targets (items), nodes, client mounts, services, one verdict.

Snapshot JSON (`cockpit snapshot --format json`, key `storage`): `items` are the targets; the
sections are `nodes`, `mounts`, `services`, `verdict`, `notes`, `last_probe` and `tool`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backends.beegfs import probe
from backends.beegfs.collect import BeegfsReader, ssh_target
from backends.ssh.pool import SshPool, SshTarget
from cockpit.source_types import NotConfigured
from cockpit.snapshot import FetchResult

if TYPE_CHECKING:
    from backends.beegfs.settings import BeegfsSettings
    from cockpit.config import LoadedConfig


class BeegfsSource:
    name = "storage"

    def __init__(self, settings: "BeegfsSettings", pool: SshPool | None = None) -> None:
        self.settings = settings
        self.pool = pool or SshPool()
        self.reader = BeegfsReader(settings, self.pool)

    def target_for(self, host: str) -> SshTarget:
        return ssh_target(self.settings, host)

    async def fetch(self) -> FetchResult:
        from cockpit import storage_health

        try:
            obs = await self.reader.collect()
        except Exception:
            # Maybe the tool changed (upgrade 7 -> 8): detect again next time.
            if self.settings.tool == "auto":
                self.reader.tool = None
            raise
        last = probe.last_probe()
        verdict = storage_health.verdict(
            nodes=obs.nodes, targets=obs.targets, mounts=obs.mounts, services=obs.services,
            limits=storage_health.Thresholds.from_settings(self.settings), last_probe=last,
            tool_health=obs.tool_health, problems=obs.problems,
        )
        return FetchResult.of(
            obs.targets,
            nodes=obs.nodes,
            mounts=obs.mounts,
            services=obs.services,
            verdict=verdict,
            notes=obs.notes,
            last_probe=last,
            tool=obs.tool,
        )

    async def close(self) -> None:
        await self.pool.close()


def build_source(loaded: "LoadedConfig") -> Any:
    settings = loaded.config.cockpit.beegfs
    if settings is None:
        raise NotConfigured()
    return BeegfsSource(settings)
