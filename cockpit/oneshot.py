"""`cockpit snapshot`: fetch every source once and print the documented JSON contract."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterable

from cockpit.config import LoadedConfig
from cockpit.redact import scrub, scrub_values
from cockpit.snapshot import SOURCE_NAMES, Snapshot


async def collect(loaded: LoadedConfig, sources: Iterable[str] = SOURCE_NAMES, timeout: float = 30.0) -> dict[str, Snapshot]:
    from backends.libvirt.connection import forget_connections
    from cockpit.runtime import build_runtime

    runtime = build_runtime(loaded, sources=tuple(sources))
    try:
        snapshots = await runtime.hub.fetch_all(timeout=timeout)
    finally:
        await runtime.close()
        forget_connections()
    # A source that did not answer in time is an error, never a silent pending state.
    out = {}
    for name, snap in snapshots.items():
        if snap.fetched_at is None and snap.status.value == "ok":
            snap = snap.evolve(status=snap.status.__class__("error"), error=f"no answer within {timeout:g} s")
        out[name] = snap
    return out


def snapshot_document(snapshots: dict[str, Snapshot]) -> dict[str, Any]:
    return {name: snap.to_json() for name, snap in snapshots.items()}


def dumps(snapshots: dict[str, Snapshot]) -> str:
    return json.dumps(snapshot_document(snapshots), indent=2, sort_keys=False)


def run(loaded: LoadedConfig, fmt: str, sources: Iterable[str], timeout: float) -> tuple[str, dict[str, Snapshot]]:
    snapshots = asyncio.run(collect(loaded, sources, timeout))
    if fmt == "json":
        return json.dumps(scrub_values(snapshot_document(snapshots)), indent=2, sort_keys=False), snapshots
    from screens.text_table import render_snapshots

    return scrub(render_snapshots(snapshots), assignments=False), snapshots
