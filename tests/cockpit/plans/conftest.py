"""Fixtures for the plan engine: a registry of test-only actions, a runtime around it, and a
scripted source whose snapshots a test advances by hand.

The test actions (no-op, echo, fail N times, sleep, a 'change' action for read-only checks) exist
only here: they let the engine's scheduling be tested exactly. Real systems are used wherever a
plan talks to one (libvirt test driver for VMs, the MLflow library for metrics, a real HTTP
server for URL checks).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from cockpit.actions import ActionRegistry, Danger
from cockpit.audit import AuditLog
from cockpit.hub import Collector, Hub, Timing
from cockpit.snapshot import FetchResult
from tests.fixtures_slurm_lab import slurm_lab  # noqa: F401 - the session's real Slurm lab (full demo plan)


class Empty(BaseModel):
    pass


class Echo(BaseModel):
    value: Any = None


class FailTimes(BaseModel):
    key: str
    times: int


class Sleep(BaseModel):
    seconds: float
    label: str = ""


class Journal:
    """What the test actions did, in order, with monotonic times."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float]] = []  # (action, label, time)
        self.failures: dict[str, int] = {}
        self.spans: dict[str, tuple[float, float]] = {}


def build_test_registry(journal: Journal) -> ActionRegistry:
    registry = ActionRegistry()

    @registry.action("test.noop", Empty, Danger.READ, title="Do nothing")
    async def noop(ctx: Any, p: Empty) -> dict[str, Any]:
        journal.calls.append(("test.noop", "", time.monotonic()))
        return {"ok": True}

    @registry.action("test.echo", Echo, Danger.READ, title="Echo a value")
    async def echo(ctx: Any, p: Echo) -> dict[str, Any]:
        journal.calls.append(("test.echo", str(p.value), time.monotonic()))
        return {"value": p.value}

    @registry.action("test.fail_times", FailTimes, Danger.READ, title="Fail the first N calls")
    async def fail_times(ctx: Any, p: FailTimes) -> dict[str, Any]:
        done = journal.failures.get(p.key, 0)
        journal.calls.append(("test.fail_times", p.key, time.monotonic()))
        if done < p.times:
            journal.failures[p.key] = done + 1
            raise RuntimeError(f"planned failure {done + 1} of {p.times}")
        return {"calls": done + 1}

    @registry.action("test.sleep", Sleep, Danger.READ, title="Sleep")
    async def sleep(ctx: Any, p: Sleep) -> dict[str, Any]:
        start = time.monotonic()
        journal.calls.append(("test.sleep", p.label, start))
        try:
            await asyncio.sleep(p.seconds)
        finally:
            journal.spans[p.label] = (start, time.monotonic())
        return {"slept": p.seconds}

    @registry.action("test.change", Echo, Danger.CHANGE, title="Change something")
    async def change(ctx: Any, p: Echo) -> dict[str, Any]:
        journal.calls.append(("test.change", str(p.value), time.monotonic()))
        return {"changed": True}

    return registry


class ScriptedSource:
    """A source whose items the test sets; every fetch returns the current script entry."""

    def __init__(self, name: str, steps: list[list[dict[str, Any]]] | None = None) -> None:
        self.name = name
        self.script = steps or [[]]
        self.fetches = 0

    async def fetch(self) -> FetchResult:
        index = min(self.fetches, len(self.script) - 1)
        self.fetches += 1
        items = self.script[index]
        return FetchResult(items={str(i.get("job_id", i.get("name", n))): i for n, i in enumerate(items)})


def make_runtime(demo_loaded: Any, tmp_path: Path, journal: Journal, *, sources: list[Any] = (),
                 read_only: bool = False, vms: bool = False) -> Any:
    from cockpit.runtime import CockpitRuntime

    collectors = [Collector(s, Timing(interval=0.05, min_interval=0.0, timeout=5.0)) for s in sources]
    if vms:
        from backends.libvirt.source import build_source

        collectors.append(Collector(build_source(demo_loaded), Timing(interval=0.05, min_interval=0.0)))
    registry = build_test_registry(journal)
    if vms:
        from cockpit.ops import vms as vm_ops

        vm_ops.register(registry)
    return CockpitRuntime(loaded=demo_loaded, hub=Hub(collectors), registry=registry,
                   audit=AuditLog(tmp_path / "audit.jsonl"), read_only=read_only)


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def runtime(demo_loaded: Any, tmp_path: Path, journal: Journal) -> Any:
    return make_runtime(demo_loaded, tmp_path, journal)


async def run_plan(text: str, runtime: Any, tmp_path: Path, **kwargs: Any) -> Any:
    """Parse (against the runtime's registry) and run; returns the finished runner."""
    from cockpit.plans import PlanRunner, parse_plan

    loaded = parse_plan(text, "test.yaml", registry=runtime.registry, overrides=kwargs.pop("overrides", None))
    runner = PlanRunner(loaded, runtime, report_dir=kwargs.pop("report_dir", tmp_path / "report"), **kwargs)
    await runner.run()
    return runner


@pytest.fixture
def run(runtime: Any, tmp_path: Path) -> Any:
    """`await run(text, **kwargs)` runs a plan on the test runtime (or `runtime=` another)."""

    async def go(text: str, **kwargs: Any) -> Any:
        rt = kwargs.pop("runtime", runtime)
        return await run_plan(text, rt, tmp_path, **kwargs)

    return go


@pytest.fixture
def make_rt(demo_loaded: Any, tmp_path: Path, journal: Journal) -> Any:
    def build(**kwargs: Any) -> Any:
        return make_runtime(demo_loaded, tmp_path, journal, **kwargs)

    return build


@pytest.fixture
def scripted() -> type[ScriptedSource]:
    return ScriptedSource
