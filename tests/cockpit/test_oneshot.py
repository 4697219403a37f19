"""The one-shot snapshot does not wait for a source stuck past its timeout once the others are done."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from cockpit import oneshot
from cockpit.snapshot import FetchResult

release = threading.Event()


class StuckInALibrary:
    """A source whose blocking library call never returns in time (a hung libvirt or NVML call)."""

    name = "mlflow"

    async def fetch(self) -> FetchResult:
        await asyncio.to_thread(release.wait, 60)
        return FetchResult.of([])


def test_a_stuck_source_is_an_error_and_does_not_hold_the_others(demo_loaded, monkeypatch) -> None:
    import cockpit.runtime as runtime_module

    real = runtime_module.build_source
    monkeypatch.setattr(runtime_module, "build_source",
                        lambda name, loaded: StuckInALibrary() if name == "mlflow" else real(name, loaded))
    started = time.monotonic()
    try:
        text, snapshots = oneshot.run(demo_loaded, "json", ("vms", "mlflow"), timeout=1.0)
        took = time.monotonic() - started
    finally:
        release.set()
    doc = json.loads(text)
    assert doc["vms"]["status"] == "ok" and doc["vms"]["items"]
    assert doc["mlflow"]["status"] == "error" and doc["mlflow"]["error"] == "no answer within 1 s"
    assert took < 10  # not the 60 s the stuck call would take (generous: the CI machine is loaded)
