"""`cockpit snapshot`: fetch every source once and print the documented JSON contract, each
source with where its settings came from (`settings_from`).

A source that does not answer within the timeout is reported as an error and left behind: its
blocking work runs in daemon threads (DaemonThreads), so neither the loop's shutdown nor the
interpreter's exit waits for it once the other sources are done."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from typing import Any, Callable, Coroutine, Iterable, TypeVar

from cockpit.config import CockpitConfig, LoadedConfig
from cockpit.gpu_map import IdlePolicy, build_gpu_map, vm_places
from cockpit.job_efficiency import annotate_history
from cockpit.redact import scrub, scrub_values
from cockpit.settings_origin import Origin, describe, settings_origin
from cockpit.snapshot import Snapshot
from cockpit.sources import SOURCE_NAMES

T = TypeVar("T")


class DaemonThreads(concurrent.futures.ThreadPoolExecutor):
    """Each blocking call in its own daemon thread, and a shutdown that waits for none of them:
    a source stuck in a blocking library past the timeout does not hold the one-shot's exit
    (the default pool's threads are joined at loop shutdown and again at interpreter exit).
    A ThreadPoolExecutor only because asyncio accepts no other default executor; its pool is
    never used."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)

        threading.Thread(target=work, name="cockpit-oneshot", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: threads still running belong to sources reported as timed out."""


async def collect(loaded: LoadedConfig, sources: Iterable[str] = SOURCE_NAMES, timeout: float = 30.0) -> dict[str, Snapshot]:
    from cockpit.runtime import build_runtime

    runtime = build_runtime(loaded, sources=tuple(sources))
    try:
        snapshots = await runtime.hub.fetch_all(timeout=timeout)
    finally:
        # Closing a source stuck past the timeout may block as well: give it a moment, not more.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(runtime.close(), min(timeout, 2.0))
    # A source that did not answer in time is an error, never a silent pending state.
    out = {}
    for name, snap in snapshots.items():
        if snap.fetched_at is None and snap.status.value == "ok":
            snap = snap.evolve(status=snap.status.__class__("error"), error=f"no answer within {timeout:g} s")
        out[name] = snap
    return out


async def _in_daemon_threads(work: Coroutine[Any, Any, T]) -> T:
    """Run work on this (the one-shot's own) loop with DaemonThreads as its default executor."""
    asyncio.get_running_loop().set_default_executor(DaemonThreads())
    return await work


def fetch(loaded: LoadedConfig, sources: Iterable[str], timeout: float) -> dict[str, Snapshot]:
    """collect() from synchronous code (a CLI command), on a loop of its own."""
    return asyncio.run(_in_daemon_threads(collect(loaded, tuple(sources), timeout)))


def origins(loaded: LoadedConfig, sources: Iterable[str]) -> dict[str, Origin | None]:
    return {name: settings_origin(loaded, name) for name in sources}


def snapshot_document(snapshots: dict[str, Snapshot], origins: dict[str, Origin | None] | None = None,
                      config: CockpitConfig | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {name: snap.to_json() for name, snap in snapshots.items()}
    annotate_history(document)  # seff-like efficiency of each accounted SLURM job
    if origins is not None:
        for name, source in document.items():
            source["settings_from"] = origins.get(name)
    if config is not None:
        # The GPU map across the fetched sources: `links` and `gpu_use` (README, 'GPU map').
        gpus = config.cockpit.gpus
        policy = IdlePolicy(below_pct=gpus.idle_below_pct, for_s=gpus.idle_for_min * 60)
        document.update(build_gpu_map(snapshots, vm_places(config), policy).as_json())
    return document


def dumps(snapshots: dict[str, Snapshot], origins: dict[str, Origin | None] | None = None,
          config: CockpitConfig | None = None) -> str:
    # registered secrets, JWTs and URL passwords never leave in an item or an error text
    return json.dumps(scrub_values(snapshot_document(snapshots, origins, config)), indent=2, sort_keys=False)


def run(loaded: LoadedConfig, fmt: str, sources: Iterable[str], timeout: float) -> tuple[str, dict[str, Snapshot]]:
    sources = tuple(sources)
    snapshots = fetch(loaded, sources, timeout)
    where = origins(loaded, sources)
    if fmt == "json":
        return dumps(snapshots, where, loaded.config), snapshots
    from screens.text_table import render_snapshots

    text = render_snapshots(snapshots, origins={n: describe(o) for n, o in where.items()})
    return scrub(text, assignments=False), snapshots
