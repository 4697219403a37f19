"""The Python API: the cockpit's actions and conditions from a notebook or a script.

Submit a workload and wait for it (the same audited actions as the screen and the plans):

    from cockpit.api import Cockpit

    with Cockpit() as cockpit:  # --config-style path, $COCKPIT_CONFIG, or the XDG config
        job = cockpit.invoke("slurm.submit", template="train-classifier", name="mnist", gpus_per_node=1,
                             command="python -m workloads.train_classifier --epochs 3")
        done = cockpit.wait("job", id=job["job_id"], state="COMPLETED", timeout="20m")
        run = cockpit.wait("snapshot", source="mlflow", where={"tags.slurm_job_id": job["job_id"]},
                           field="metrics.final_test_accuracy", ge=0.97, timeout="2m")
        print(done["state"], run["value"])

`wait(kind, ...)` takes the same conditions as a plan's `wait:` (vm, job, pod, inference_service,
metric, url, value, snapshot) and returns the matched item's fields; `check(...)` evaluates one
once. `run_plan(path)` runs a whole plan. Everything works inside Jupyter (which already runs an
event loop): the cockpit keeps its own loop in a background thread. In async code, use
`AsyncCockpit` with the same methods as coroutines.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Coroutine, Mapping, TypeVar

from cockpit.actions import Actor, local_actor
from cockpit.errors import ConfigError, format_validation_error

T = TypeVar("T")


class CockpitError(Exception):
    """Base of the API's errors."""


class ActionFailed(CockpitError):
    def __init__(self, action: str, error: str, audit_id: str | None = None) -> None:
        super().__init__(f"{action} failed: {error}")
        self.action, self.error, self.audit_id = action, error, audit_id


class ConditionNotMet(CockpitError):
    """A wait timed out, a check did not hold, or the awaited state can no longer come."""


def _condition(kind: str, spec: Mapping[str, Any], *, interval: Any = None) -> Any:
    from pydantic import ValidationError

    from cockpit.plans.model import Condition, WaitSpec

    body: dict[str, Any] = {kind: dict(spec)}
    model = WaitSpec if interval is not None else Condition
    if interval is not None:
        body["interval"] = interval
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise CockpitError("; ".join(format_validation_error(exc))) from None


class AsyncCockpit:
    """The API as coroutines (for async code); `Cockpit` is the blocking twin."""

    def __init__(self, config: str | Path | None = None, *, read_only: bool | None = None,
                 actor: Actor | None = None) -> None:
        from cockpit.config import load_config
        from cockpit.runtime import build_runtime

        self.loaded = load_config(config)
        self.runtime = build_runtime(self.loaded, read_only=read_only)
        self.actor = actor or local_actor("api")

    def actions(self) -> list[str]:
        return [a.name for a in self.runtime.registry]

    async def invoke(self, name: str, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        """Run an action (audited; a change runs without a prompt: calling it is the confirmation)."""
        from cockpit.actions import ActionError

        try:
            result = await self.runtime.dispatcher.invoke(name, {**(params or {}), **kwargs}, actor=self.actor,
                                                          confirmed=True)
        except ActionError as exc:
            raise ActionFailed(name, str(exc)) from None
        if not result.ok:
            raise ActionFailed(name, result.error or "failed", result.id)
        return dict(result.outputs)

    async def check(self, kind: str, **spec: Any) -> dict[str, Any]:
        """Evaluate a condition once; returns the matched item's fields or raises ConditionNotMet."""
        from cockpit.plans import conditions

        cond = _condition(kind, spec)
        try:
            outcome = await conditions.evaluate(cond, self.runtime)
        except (conditions.ConditionError, conditions.ConditionFailedNow) as exc:
            raise ConditionNotMet(str(exc)) from None
        if not outcome.ok:
            raise ConditionNotMet(outcome.detail)
        return outcome.outputs

    async def wait(self, kind: str, *, timeout: Any = 600, interval: Any = 2, **spec: Any) -> dict[str, Any]:
        """Wait until a condition holds; returns the matched item's fields."""
        from cockpit.plans import conditions
        from cockpit.plans.model import parse_duration

        cond = _condition(kind, spec, interval=interval)
        seconds = parse_duration(timeout)
        try:
            outcome = await conditions.wait_until(cond, self.runtime, timeout=seconds, interval=cond.interval)
        except (conditions.ConditionError, conditions.ConditionFailedNow) as exc:
            raise ConditionNotMet(str(exc)) from None
        if not outcome.ok:
            raise ConditionNotMet(f"timed out after {seconds:g} s: {outcome.detail}")
        return outcome.outputs

    async def snapshot(self, source: str) -> dict[str, Any]:
        """One source fetched now, in the documented JSON shape (`cockpit snapshot`)."""
        if source not in self.runtime.hub.collectors:
            raise CockpitError(f"unknown source {source!r} (known: {', '.join(self.runtime.hub.collectors)})")
        return (await self.runtime.hub.collectors[source].fetch_once()).to_json()

    async def run_plan(self, path: str | Path, *, vars: Mapping[str, Any] | None = None,
                       report_dir: str | Path | None = None) -> dict[str, Any]:
        """Run a plan file; returns {verdict, run_id, report_dir, steps: {id: status}}."""
        from cockpit.plans import PlanRunner, load_plan

        loaded = load_plan(path, overrides=dict(vars or {}), registry=self.runtime.registry)
        runner = PlanRunner(loaded, self.runtime, report_dir=Path(report_dir) if report_dir else None)
        verdict = await runner.run()
        return {"verdict": verdict, "run_id": runner.run_id, "report_dir": str(runner.report_dir),
                "steps": {sid: rec["status"] for sid, rec in runner.state.steps.items()},
                "outputs": runner.outputs()}

    async def close(self) -> None:
        await self.runtime.close()


class Cockpit:
    """Blocking API for scripts and notebooks. Use as a context manager, or call close()."""

    def __init__(self, config: str | Path | None = None, *, read_only: bool | None = None,
                 actor: Actor | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cockpit-api", daemon=True)
        self._thread.start()
        try:
            self._async = self._call(self._build(config, read_only, actor))
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _build(config: Any, read_only: Any, actor: Any) -> AsyncCockpit:
        return AsyncCockpit(config, read_only=read_only, actor=actor)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except KeyboardInterrupt:  # Ctrl-C in the notebook: stop the work, not only the waiting
            future.cancel()
            raise

    def actions(self) -> list[str]:
        return self._async.actions()

    def invoke(self, name: str, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        return self._call(self._async.invoke(name, params, **kwargs))

    def check(self, kind: str, **spec: Any) -> dict[str, Any]:
        return self._call(self._async.check(kind, **spec))

    def wait(self, kind: str, *, timeout: Any = 600, interval: Any = 2, **spec: Any) -> dict[str, Any]:
        return self._call(self._async.wait(kind, timeout=timeout, interval=interval, **spec))

    def snapshot(self, source: str) -> dict[str, Any]:
        return self._call(self._async.snapshot(source))

    def run_plan(self, path: str | Path, *, vars: Mapping[str, Any] | None = None,
                 report_dir: str | Path | None = None) -> dict[str, Any]:
        return self._call(self._async.run_plan(path, vars=vars, report_dir=report_dir))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._call(self._async.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> "Cockpit":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["Cockpit", "AsyncCockpit", "CockpitError", "ActionFailed", "ConditionNotMet", "ConfigError"]
