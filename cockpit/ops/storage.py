"""Storage actions: the throughput probe (sequential write + read back, metadata operations)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from backends.beegfs import probe
from cockpit.actions import ActionContext, ActionRefused, ActionRegistry, Danger

DEFAULT_SIZE_MB = 1024
DEFAULT_FILES = 1000
DEFAULT_TARGET_MB_S = 1000.0


class ProbeParams(BaseModel):
    path: str | None = Field(default=None, description="directory to probe; default: cockpit.beegfs.mount_point")
    nodes: list[str] = Field(default_factory=list,
                             description="client hosts to probe from over SSH, in parallel; empty: this machine")
    size_mb: int | None = Field(default=None, ge=1, le=1_048_576, description="MiB written and read back per node")
    files: int | None = Field(default=None, ge=1, le=1_000_000, description="files created, stat'ed and removed per node")
    target_mb_s: float | None = Field(default=None, gt=0, description="throughput to compare with (MB/s)")
    timeout_s: float = Field(default=600.0, gt=0, le=86_400, description="per-node limit for a remote probe")


def _beegfs(ctx: ActionContext | None) -> Any:
    """The storage adapter when BeeGFS is configured (it knows SSH settings and defaults)."""
    if ctx is None:
        return None
    try:
        adapter = ctx.adapter("storage")
    except KeyError:
        return None
    return adapter if hasattr(adapter, "settings") and hasattr(adapter, "target_for") else None


def resolve(p: ProbeParams, adapter: Any) -> tuple[str, int, int, float]:
    settings = getattr(adapter, "settings", None)
    path = p.path or (settings.mount_point if settings else None)
    if not path:
        raise ActionRefused("storage.probe: give a path (no cockpit.beegfs.mount_point is configured)")
    size = p.size_mb or (settings.probe_size_mb if settings else DEFAULT_SIZE_MB)
    files = p.files or (settings.probe_files if settings else DEFAULT_FILES)
    target = p.target_mb_s or (settings.target_mb_s if settings else DEFAULT_TARGET_MB_S)
    return path, size, files, target


def confirm_text(p: ProbeParams) -> str:
    where = ", ".join(p.nodes) + " in parallel" if p.nodes else "this machine"
    size = f"{p.size_mb} MiB" if p.size_mb else "the configured size (default 1024 MiB)"
    files = f"{p.files} files" if p.files else "the configured number of files (default 1000)"
    path = p.path or "the BeeGFS mount point"
    return (f"On {where}: write {size} with fdatasync to a new hidden directory .cockpit-probe-* under {path}, "
            f"read it back, then create, stat and remove {files} there. The directory is removed afterwards; "
            f"the probe refuses to run with less than twice its size free. It loads the shared file system while it runs.")


async def storage_probe(ctx: ActionContext, p: ProbeParams) -> dict[str, Any]:
    """Measure storage throughput (write + read back) and metadata ops/s"""
    adapter = _beegfs(ctx)
    path, size, files, target = resolve(p, adapter)
    if p.nodes and adapter is None:
        raise ActionRefused("storage.probe on nodes needs cockpit.beegfs (SSH user, port and key for the nodes)")
    record = await probe.run_probe(
        path=path, size_mb=size, files=files, target_mb_s=target, nodes=p.nodes,
        pool=adapter.pool if adapter is not None else None,
        target_for=adapter.target_for if adapter is not None else None,
        timeout=p.timeout_s, progress=ctx.progress,
    )
    if record["write_mb_s"] is None:
        raise probe.ProbeFailed("probe failed on every node: " + "; ".join(record["errors"]))
    ctx.progress(f"write {record['write_mb_s']:.0f} MB/s, read {record['read_mb_s']:.0f} MB/s "
                 f"(target {target:g} MB/s: {'met' if record['meets_target'] else 'NOT met'})")
    return record


def register(registry: ActionRegistry) -> None:
    registry.action("storage.probe", ProbeParams, Danger.CHANGE, title="Storage throughput probe",
                    confirm=confirm_text, refresh=("storage",))(storage_probe)
