"""`cockpit snapshot`: fetch every source once and print the documented JSON contract, each
source with where its settings came from (`settings_from`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterable

from cockpit.config import LoadedConfig
from cockpit.redact import scrub, scrub_values
from cockpit.settings_origin import Origin, describe, settings_origin
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


def origins(loaded: LoadedConfig, sources: Iterable[str]) -> dict[str, Origin | None]:
    return {name: settings_origin(loaded, name) for name in sources}


def snapshot_document(snapshots: dict[str, Snapshot], origins: dict[str, Origin | None] | None = None) -> dict[str, Any]:
    document = {name: snap.to_json() for name, snap in snapshots.items()}
    if origins is not None:
        for name, source in document.items():
            source["settings_from"] = origins.get(name)
    return document


def dumps(snapshots: dict[str, Snapshot], origins: dict[str, Origin | None] | None = None) -> str:
    # registered secrets, JWTs and URL passwords never leave in an item or an error text
    return json.dumps(scrub_values(snapshot_document(snapshots, origins)), indent=2, sort_keys=False)


def run(loaded: LoadedConfig, fmt: str, sources: Iterable[str], timeout: float) -> tuple[str, dict[str, Snapshot]]:
    sources = tuple(sources)
    snapshots = asyncio.run(collect(loaded, sources, timeout))
    where = origins(loaded, sources)
    if fmt == "json":
        return dumps(snapshots, where), snapshots
    from screens.text_table import render_snapshots

    text = render_snapshots(snapshots, origins={n: describe(o) for n, o in where.items()})
    return scrub(text, assignments=False), snapshots
