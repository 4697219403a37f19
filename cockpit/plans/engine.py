"""Run a plan: the DAG scheduler, retries, timeouts, cleanup, durable state and events.

One `PlanRunner` runs one plan against one Runtime. Steps whose `needs` have passed start at
once (up to `max_parallel`); a failed step skips the steps that need it, while independent
branches go on (unless `fail_fast`). Cleanup steps run after the others in every case,
including Ctrl-C / SIGTERM (a second signal abandons cleanup too).

Every step transition is written to the state file (atomically, fsync'd) and to the JSON-lines
event stream before anything else hears of it, so `--resume` continues after `kill -9` without
repeating a finished step. A step that was running when the process died runs again (its
attempt is recorded as lost): actions with side effects may then happen twice, and the audit
log shows both.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from pydantic import ValidationError

from cockpit import paths
from cockpit.actions import (ActionError, ActionRefused, Actor, Danger, InvalidParams, NeedsConfirmation,
                             UnknownAction, local_actor)
from cockpit.redact import redact
from cockpit.errors import ConfigError, format_validation_error
from cockpit.plans import conditions
from cockpit.plans.loader import LoadedPlan, parse_plan, plan_digest, runtime_refs
from cockpit.plans.model import Condition, Step, WaitSpec
from cockpit.plans.refs import RefError, resolve
from cockpit.plans.state import FINAL, EventLog, RunState, new_step_record

from cockpit.snapshot import to_jsonable, utcnow

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

# The reason a failed `probe: true` step, and every step that needs it, is skipped with.
NOT_HERE = "cannot run here: "

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]
WAIT_GRACE_S = 5.0  # a wait step ends itself at its timeout; the hard limit is a little later


class StepError(Exception):
    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def new_run_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def default_report_dir(plan_name: str, run_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in plan_name)[:60]
    return paths.state_dir() / "plans" / f"{safe}-{run_id}"


def _result_text(rec: dict[str, Any]) -> str:
    result = (rec.get("outputs") or {}).get("result")
    return str(result) if result is not None else "its action reported changed: false"


def plan_actor() -> Actor:
    base = local_actor("plan")
    return Actor(name=base.name, via="plan", role=base.role)


# ----------------------------------------------------------------------------------------------
# Describing steps (dry run, screen)
# ----------------------------------------------------------------------------------------------
def condition_text(cond: Condition) -> str:
    kind, spec = cond.kind, cond.spec
    if kind == "url":
        return f"{spec.method} {spec.url} answers" + (f" {spec.status}" if spec.status else "")
    if kind == "value":
        return f"{spec.value!r} {conditions.describe(spec)}"
    if kind == "monitoring":
        where = spec.url or ("a loopback exporter + Prometheus" if spec.lab else "the configured Prometheus")
        return f"{where} returns {', '.join(spec.series)}"
    if kind == "vm":
        return f"VM {spec.name} {spec.state if isinstance(spec.state, str) else ' or '.join(spec.state)}"
    if kind == "job":
        return f"SLURM job {spec.id} {spec.state if isinstance(spec.state, str) else ' or '.join(spec.state)}"
    if kind == "pod":
        return f"pod {spec.name}" + (" ready" if spec.ready else "") + (f" {spec.phase}" if spec.phase else "")
    if kind == "inference_service":
        return f"InferenceService {spec.name} ready"
    if kind == "metric":
        run = spec.run or spec.run_name
        return f"MLflow run {run}: {spec.name} {conditions.describe(spec)}"
    check = spec
    target = f"{check.source}" + (f".{check.section}" if check.section else "")
    where = ", ".join(f"{k}={v}" for k, v in check.where.items())
    return f"{target}[{where}]" + (f".{check.field} {conditions.describe(check)}" if check.field else " exists")


def step_text(loaded: LoadedPlan, step: Step, registry: Any = None) -> str:
    plan = loaded.plan
    if step.kind == "action":
        has_refs = any(True for _ in runtime_refs(step.params, []))
        if registry is not None and not has_refs and step.action in registry:
            try:
                prepared_action = registry.get(step.action)
                params = prepared_action.params.model_validate(step.params)
                return f"{step.action} [{prepared_action.danger.value}]: {prepared_action.confirmation(params)}"
            except Exception:
                pass
        shown = ", ".join(f"{k}={v}" for k, v in step.params.items())
        return f"{step.action}({shown})"
    if step.kind == "wait":
        return f"wait up to {plan.timeout_for(step):g} s: {condition_text(step.wait)}"  # type: ignore[arg-type]
    if step.kind == "assert":
        return "assert " + " and ".join(condition_text(c) for c in step.assert_ or [])
    return f"sleep {step.sleep:g} s"


def dry_run_lines(loaded: LoadedPlan, registry: Any = None) -> list[str]:
    plan = loaded.plan
    lines = [f"plan {plan.plan}: {len(plan.steps)} steps" + (f" ({plan.description.strip()})" if plan.description else "")]
    by_id = {s.id: s for s in plan.steps}
    for n, wave in enumerate(loaded.waves(), 1):
        cleanup = by_id[wave[0]].cleanup
        lines.append(f"wave {n}{' (cleanup, always runs)' if cleanup else ''}: {', '.join(wave)}")
        for sid in wave:
            step = by_id[sid]
            extra = []
            retry = plan.retry_for(step)
            if retry.attempts > 1:
                extra.append(f"{retry.attempts} attempts")
            if step.needs:
                extra.append("needs " + ", ".join(step.needs))
            suffix = f"  ({'; '.join(extra)})" if extra else ""
            lines.append(f"  {sid}: {step_text(loaded, step, registry)}{suffix}")
    return lines


def refused_in_read_only(loaded: LoadedPlan, runtime: "Runtime") -> list[str]:
    """Problems (path-named) for steps the read-only mode would refuse: checked before anything runs."""
    if not runtime.dispatcher.read_only:
        return []
    out = []
    for i, step in enumerate(loaded.plan.steps):
        if step.action and step.action in runtime.registry:
            action = runtime.registry.get(step.action)
            if action.danger is not Danger.READ:
                out.append(f"steps[{i}] -> action: {step.action} ({action.danger.value}) is refused in read-only mode")
    return out


# ----------------------------------------------------------------------------------------------
# The runner
# ----------------------------------------------------------------------------------------------
class PlanRunner:
    def __init__(
        self,
        loaded: LoadedPlan,
        runtime: "Runtime",
        *,
        report_dir: Path | None = None,
        state: RunState | None = None,
        listeners: Iterable[Listener] = (),
        actor: Actor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loaded = loaded
        self.plan = loaded.plan
        self.runtime = runtime
        self.actor = actor or plan_actor()
        self.clock = clock
        self.listeners: list[Listener] = list(listeners)
        self.steps = {s.id: s for s in self.plan.steps}
        self.resumed = state is not None
        if state is None:
            run_id = new_run_id()
            state = RunState(run_id=run_id, plan_name=self.plan.plan, plan_source=loaded.source,
                             plan_sha256=loaded.sha256, plan_text=loaded.text, overrides=dict(loaded.overrides),
                             steps={s.id: new_step_record() for s in self.plan.steps})
        self.state = state
        self.report_dir = Path(report_dir or state.report_dir or default_report_dir(self.plan.plan, state.run_id))
        self.state.report_dir = str(self.report_dir)
        self.state_path = self.report_dir / "state.json"
        self.events_path = self.report_dir / "events.jsonl"
        self._events: EventLog | None = None
        self._stop_main = False
        self._stop_cleanup = False
        self._interrupted = False
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._lost: list[str] = []
        self.started = False
        self.finished = asyncio.Event()

    # -- public ---------------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.state.run_id

    @property
    def verdict(self) -> str | None:
        return self.state.verdict

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def status(self, step_id: str) -> str:
        return self.state.steps[step_id]["status"]

    def cancel(self, *, force: bool = False) -> None:
        """Interrupt: stop starting steps and cancel the running ones; cleanup still runs.
        A second call (or force) abandons cleanup too."""
        if self._interrupted or force:
            self._stop_cleanup = True
        self._interrupted = True
        self._stop_main = True
        for task in list(self._tasks.values()):
            task.cancel()

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    async def run(self) -> str:
        """Run (or resume) to the end; returns the verdict: passed | failed | interrupted."""
        self.started = True
        self.report_dir.mkdir(parents=True, exist_ok=True)
        if self.resumed:
            self._prepare_resume()
        self._events = EventLog(self.events_path)
        try:
            if self.resumed:
                self._emit("plan.resume", phase=self.state.phase, lost=self._lost)
                for sid in self._lost:
                    self._emit("step.lost", sid, reason="the run stopped while this step ran; it runs again")
            else:
                self._emit("plan.start", plan=self.plan.plan, steps=len(self.plan.steps),
                           source=self.loaded.source, variables=self.loaded.variables)
            if self.state.phase == "done":
                pass  # a finished run: nothing left to do but the reports
            else:
                try:
                    if self.state.phase == "main":
                        await self._schedule(cleanup=False)
                        self._set_phase("cleanup")
                    await self._schedule(cleanup=True)
                except asyncio.CancelledError:
                    self._interrupted = True
                    self._finish()
                    raise
                self._finish()
            return self.state.verdict or "failed"
        finally:
            self._write_reports()
            if self._events is not None:
                self._events.close()
            self.finished.set()

    # -- resume ---------------------------------------------------------------------------------
    def _prepare_resume(self) -> None:
        EventLog.repair(self.events_path, self.state.last_event)
        last = max([int(e.get("seq", 0) or 0) for e in EventLog.read(self.events_path)] or [0])
        self.state.seq = max(self.state.seq, last)
        self._lost = []
        if self.state.phase == "done" and self.state.verdict != "interrupted":
            return  # a finished run: nothing to repeat
        main_left = any(rec["status"] not in FINAL and not self.steps[sid].cleanup
                        for sid, rec in self.state.steps.items())
        for sid, rec in self.state.steps.items():
            step = self.steps[sid]
            if rec["status"] in FINAL and not (step.cleanup and main_left):
                continue  # finished: never repeated (cleanup repeats only if more main steps run)
            if rec["status"] == "running":
                self._lost.append(sid)
                for attempt in rec["attempts"]:
                    if attempt.get("ended_at") is None:
                        attempt.update(ended_at=utcnow().isoformat(), ok=False,
                                       error="lost: the run stopped while this attempt ran")
            rec.update(status="pending", error=None, reason=None, ended_at=None, duration_s=None)
        self.state.phase = "main" if main_left else "cleanup"
        self.state.verdict = None
        self.state.ended_at = None
        self.state.resumes.append(utcnow().isoformat())

    # -- events and state -----------------------------------------------------------------------
    def _emit(self, event_type: str, step: str | None = None, *, transition: bool = True, **data: Any) -> dict[str, Any]:
        self.state.seq += 1
        event = {"seq": self.state.seq, "ts": utcnow().isoformat(), "run_id": self.state.run_id, "event": event_type}
        if step is not None:
            event["step"] = step
        event.update(redact(to_jsonable(data)))  # no tokens or passwords in the event stream
        if transition:
            self.state.last_event = event
            self.state.save(self.state_path)
        assert self._events is not None
        self._events.append(event, sync=transition)  # progress lines need no disk sync
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken progress display must not break the run
                log.exception("plan listener failed")
        return event

    def _set_phase(self, phase: str) -> None:
        self.state.phase = phase
        self._emit("plan.phase", phase=phase)

    def _finish(self) -> None:
        statuses = [rec["status"] for rec in self.state.steps.values()]
        if self._interrupted:
            verdict = "interrupted"
        elif "failed" in statuses or any(s not in FINAL for s in statuses):
            verdict = "failed"
        else:
            verdict = "passed"
        self.state.verdict = verdict
        self.state.phase = "done"
        self.state.ended_at = utcnow().isoformat()
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        self._emit("plan.end", verdict=verdict, counts=counts)

    def _write_reports(self) -> None:
        from cockpit.plans.reports import write_reports

        try:
            write_reports(self.state, self.plan, self.report_dir)
        except Exception:
            log.exception("writing plan reports failed")

    # -- scheduling -----------------------------------------------------------------------------
    def _blocked_reason(self, step: Step) -> str | None:
        """Why a pending step can never run now (its skip reason), or None."""
        if not step.when:
            return "when: false"
        for dep in step.needs:
            rec = self.state.steps[dep]
            dep_step = self.steps[dep]
            if step.cleanup and not dep_step.cleanup:
                if rec["status"] in ("pending", "skipped") and not rec["attempts"]:
                    return f"nothing to clean up: {dep} never ran"
                if step.cleanup == "passed" and rec["status"] == "failed":
                    return f"cleanup only after success: {dep} failed, so this run may not own what it names"
                if rec["status"] == "passed" and (rec.get("outputs") or {}).get("changed") is False:
                    return f"nothing to clean up: {dep} changed nothing ({_result_text(rec)})"
                continue
            if step.cleanup:
                continue  # cleanup after cleanup: ordering only
            if rec["status"] == "skipped" and (rec.get("reason") or "").startswith(NOT_HERE):
                return str(rec["reason"])  # a failed probe: the same reason all the way down
            if rec["status"] in ("failed", "skipped"):
                return f"needs {dep}, which {rec['status']}"
        return None

    def _ready(self, step: Step) -> bool:
        for dep in step.needs:
            status = self.state.steps[dep]["status"]
            if step.cleanup:
                if self.steps[dep].cleanup and status not in FINAL:
                    return False
                continue
            if status != "passed":
                return False
        return True

    async def _schedule(self, *, cleanup: bool) -> None:
        order = [s for s in self.plan.steps if bool(s.cleanup) == cleanup]
        pending = [s for s in order if self.state.steps[s.id]["status"] not in FINAL]
        stop = (lambda: self._stop_cleanup) if cleanup else (lambda: self._stop_main)
        while True:
            changed = True
            while changed:
                changed = False
                for step in list(pending):
                    reason = self._blocked_reason(step)
                    if reason is not None:
                        pending.remove(step)
                        self._skip(step, reason)
                        changed = True
            if not stop():
                for step in list(pending):
                    if len(self._tasks) >= self.plan.max_parallel:
                        break
                    if self._ready(step):
                        pending.remove(step)
                        self._tasks[step.id] = asyncio.create_task(self._run_step(step), name=f"plan-step:{step.id}")
            if not self._tasks:
                break
            done, _ = await asyncio.wait(list(self._tasks.values()), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                sid = next(k for k, v in self._tasks.items() if v is task)
                del self._tasks[sid]
                if not task.cancelled() and task.exception() is not None:
                    # An engine bug must still leave a truthful record, not a step stuck 'running'.
                    log.error("plan step %s crashed", sid, exc_info=task.exception())
                    rec = self.state.steps[sid]
                    if rec["status"] not in FINAL:
                        rec.update(status="failed", error=f"internal error: {task.exception()!r}",
                                   ended_at=utcnow().isoformat())
                        self._emit("step.end", sid, status="failed", error=rec["error"])
                if (not cleanup and self.plan.fail_fast and self.state.steps[sid]["status"] == "failed"
                        and not self._stop_main):
                    self._stop_main = True
                    for other in list(self._tasks.values()):
                        other.cancel()
        if not cleanup and self._stop_main and not self._interrupted:
            for step in pending:  # fail_fast: the rest will not run
                self._skip(step, "fail_fast: an earlier step failed")

    def _skip(self, step: Step, reason: str) -> None:
        rec = self.state.steps[step.id]
        rec.update(status="skipped", reason=reason, ended_at=utcnow().isoformat())
        self._emit("step.skip", step.id, reason=reason)

    # -- one step -------------------------------------------------------------------------------
    async def _run_step(self, step: Step) -> None:
        rec = self.state.steps[step.id]
        retry = self.plan.retry_for(step)
        timeout = self.plan.timeout_for(step)
        started = self.clock()
        rec["started_at"] = rec["started_at"] or utcnow().isoformat()
        rec["detail"] = None
        error = "not run"
        for attempt in range(1, retry.attempts + 1):
            number = len(rec["attempts"]) + 1
            rec["status"] = "running"
            rec["attempts"].append({"n": number, "started_at": utcnow().isoformat(), "ended_at": None, "ok": None, "error": None})
            self._emit("step.start", step.id, attempt=number, kind=step.kind, title=step.title)
            try:
                limit = timeout + (WAIT_GRACE_S if step.kind == "wait" else 0.0)
                async with asyncio.timeout(limit):
                    outputs, detail = await self._execute(step, timeout)
            except asyncio.CancelledError:
                self._end(step, rec, "interrupted", started, error="interrupted")
                raise
            except TimeoutError:
                error, retryable = f"timed out after {timeout:g} s", True
            except StepError as exc:
                error, retryable = str(exc), exc.retryable
            except Exception as exc:  # an action or condition crashed: a failed step, not a crash
                log.debug("step %s raised", step.id, exc_info=True)
                error, retryable = f"{type(exc).__name__}: {exc}", True
            else:
                rec["detail"] = detail[:500]
                self._end(step, rec, "passed", started, outputs=outputs)
                return
            if attempt < retry.attempts and retryable:
                delay = retry.delay(attempt)
                rec["attempts"][-1].update(ended_at=utcnow().isoformat(), ok=False, error=error)
                self._emit("step.retry", step.id, attempt=number, error=error, delay_s=round(delay, 3))
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:
                    rec["attempts"].append({"n": number + 1, "started_at": utcnow().isoformat(), "ended_at": None,
                                            "ok": None, "error": None})
                    self._end(step, rec, "interrupted", started, error="interrupted while waiting to retry")
                    raise
                continue
            break
        if step.probe:  # this machine cannot do what follows: skipped with the reason, not failed
            rec["attempts"][-1].update(ended_at=utcnow().isoformat(), ok=False, error=error)
            rec["reason"] = f"{NOT_HERE}{error}"
            self._end(step, rec, "skipped", started)
            return
        self._end(step, rec, "failed", started, error=error)

    def _end(self, step: Step, rec: dict[str, Any], status: str, started: float, *,
             outputs: dict[str, Any] | None = None, error: str | None = None) -> None:
        now = utcnow().isoformat()
        if rec["attempts"] and rec["attempts"][-1].get("ended_at") is None:
            rec["attempts"][-1].update(ended_at=now, ok=status == "passed", error=error)
        duration = round(self.clock() - started, 4)
        rec.update(status=status, ended_at=now, duration_s=duration, error=error)
        if outputs is not None:
            rec["outputs"] = to_jsonable(outputs)
        data: dict[str, Any] = {"status": status, "duration_s": duration, "attempts": len(rec["attempts"])}
        if error:
            data["error"] = error
        elif status == "skipped" and rec.get("reason"):
            data["reason"] = rec["reason"]
        elif rec.get("detail"):
            data["detail"] = rec["detail"]
        if outputs:
            data["outputs"] = rec["outputs"]
        self._emit("step.end", step.id, **data)

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {sid: rec["outputs"] for sid, rec in self.state.steps.items() if rec["status"] == "passed"}

    def run_info(self) -> dict[str, Any]:
        return {"id": self.state.run_id, "report_dir": str(self.report_dir), "plan": self.plan.plan}

    def _resolve(self, step: Step, node: Any, key: str) -> Any:
        index = self.plan.steps.index(step)
        try:
            return resolve(node, self.outputs(), self.run_info(), [f"steps[{index}]", key])
        except RefError as exc:
            raise StepError(str(exc), retryable=False) from None

    async def _execute(self, step: Step, timeout: float) -> tuple[dict[str, Any], str]:
        """(outputs, one line a person reads) of one attempt; raises StepError on failure."""
        if step.kind == "action":
            outputs = await self._action(step)
            safe = redact(outputs)
            shown = safe.get("result", safe) if len(safe) > 1 else safe
            return outputs, str(shown) if not isinstance(shown, str) else shown
        if step.kind == "sleep":
            await asyncio.sleep(step.sleep or 0.0)
            return {"slept_s": step.sleep}, f"slept {step.sleep:g} s"
        if step.kind == "wait":
            return await self._wait(step, timeout)
        return await self._assert(step)

    def _with_token(self, step: Step, params: Any) -> Any:
        """Actions that create something and take an idempotency `token` get one per run and step,
        the same after --resume: a create interrupted after it took effect is found, not repeated."""
        registry = self.runtime.registry
        if not isinstance(params, dict) or params.get("token") or step.action not in registry:
            return params
        if "token" not in registry.get(step.action or "").params.model_fields:
            return params
        return {**params, "token": f"{self.run_id}.{step.id}"[:100]}

    async def _action(self, step: Step) -> dict[str, Any]:
        params = self._with_token(step, self._resolve(step, step.params, "params"))
        rec = self.state.steps[step.id]

        def progress(message: str) -> None:
            self._emit("step.progress", step.id, transition=False, message=str(message)[:500])

        try:
            result = await self.runtime.dispatcher.invoke(step.action or "", params, actor=self.actor,
                                                          confirmed=True, progress=progress)
        except (UnknownAction, InvalidParams, ActionRefused, NeedsConfirmation) as exc:
            raise StepError(str(exc), retryable=False) from None
        except ActionError as exc:
            raise StepError(str(exc)) from None
        rec["audit_ids"].append(result.id)
        if not result.ok:
            raise StepError(f"{step.action} failed: {result.error}")
        return dict(result.outputs)

    def _condition(self, step: Step, raw: Any, model: type[Condition], key: str) -> Condition:
        data = raw.model_dump(by_alias=True, exclude_unset=True)
        resolved = self._resolve(step, data, key)
        try:
            return model.model_validate(resolved)
        except ValidationError as exc:
            index = self.plan.steps.index(step)
            raise StepError("; ".join(format_validation_error(exc, [f"steps[{index}]", key])), retryable=False) from None

    async def _wait(self, step: Step, timeout: float) -> tuple[dict[str, Any], str]:
        cond = self._condition(step, step.wait, WaitSpec, "wait")
        assert isinstance(cond, WaitSpec)

        def changed(detail: str) -> None:
            self._emit("step.progress", step.id, transition=False, message=detail[:500])

        try:
            outcome = await conditions.wait_until(cond, self.runtime, timeout=timeout, interval=cond.interval,
                                                  on_change=changed)
        except conditions.ConditionError as exc:
            raise StepError(str(exc), retryable=False) from None
        except conditions.ConditionFailedNow as exc:
            raise StepError(await self._explain(exc), retryable=False) from None
        if not outcome.ok:
            raise StepError(f"timed out after {timeout:g} s: {outcome.detail}")
        return outcome.outputs, outcome.detail

    async def _explain(self, exc: conditions.ConditionFailedNow) -> str:
        """Why the awaited state will not come; for a SLURM job, its exit code and the end of its
        output file (where the reason is: a traceback, a missing module)."""
        message = str(exc)
        job = exc.item
        if exc.source == "slurm" and isinstance(job, dict) and job.get("job_id") is not None:
            from cockpit.slurm_logs import output_tail

            if job.get("exit_code"):
                message += f" (exit code {job['exit_code']})"
            message += "; " + await output_tail(self.runtime, job)
        return message

    async def _assert(self, step: Step) -> tuple[dict[str, Any], str]:
        failures = []
        details = []
        outputs: dict[str, Any] = {}
        seed_checks = self.state.steps[step.id]["seed_checks"] = []  # the summary's "Seed checks"
        for i, raw in enumerate(step.assert_ or []):
            cond = self._condition(step, raw, Condition, f"assert[{i}]")
            try:
                outcome = await conditions.evaluate(cond, self.runtime)
            except conditions.ConditionNotChecked as exc:
                # cannot be checked here (a tool is missing): reported as such, never as passed
                details.append(f"not checked: {exc}")
                if cond.seed:
                    seed_checks.append({"index": i, "seed": cond.seed, "ok": None, "detail": str(exc),
                                        "required": cond.required})
                continue
            except conditions.ConditionError as exc:
                raise StepError(str(exc), retryable=False) from None
            except conditions.ConditionFailedNow as exc:
                why = await self._explain(exc)
                if cond.required:
                    failures.append(why)
                if cond.seed:
                    seed_checks.append({"index": i, "seed": cond.seed, "ok": False, "detail": why,
                                        "required": cond.required})
                continue
            if cond.seed:
                seed_checks.append({"index": i, "seed": cond.seed, "ok": outcome.ok, "detail": outcome.detail,
                                    "value": outcome.outputs.get("value"), "required": cond.required})
            if not outcome.ok and cond.required:
                failures.append(outcome.detail)
            outputs.update(outcome.outputs)
            details.append(outcome.detail)
        if failures:
            raise StepError("; ".join(failures))
        return outputs, "; ".join(details)


# ----------------------------------------------------------------------------------------------
# Resume helpers
# ----------------------------------------------------------------------------------------------
def load_for_resume(state_path: Path, *, plan_path: str | None, overrides: dict[str, Any],
                    registry: Any = None) -> tuple[RunState, LoadedPlan]:
    """The state and the exact plan text it ran; a plan file given again must be unchanged."""
    state = RunState.load(Path(state_path))
    missing = [name for name in state.secret_overrides if name not in overrides]
    if missing:
        raise ConfigError(str(state_path), [
            f"--var {name}: a secret variable is not kept in the state file; give it again "
            f"(--var {name}=...)" for name in missing])
    # The run's variables as they started: the plain ones from the state, the secret ones given again.
    started = {**state.overrides, **{name: overrides[name] for name in state.secret_overrides}}
    if plan_path is not None:
        try:
            text = Path(plan_path).read_text()
        except OSError as exc:
            raise ConfigError(str(plan_path), [f"cannot read: {exc}"]) from None
        merged = {**started, **overrides}
        if plan_digest(text, merged) != state.plan_sha256:
            raise ConfigError(str(state_path), [
                f"plan: {plan_path} (or its --var values) changed since run {state.run_id} started; "
                "resume with the same plan, or start a new run"])
    elif overrides and any(started.get(k) != v for k, v in overrides.items()):
        raise ConfigError(str(state_path), ["--var: a resumed run keeps the variables it started with"])
    elif state.secret_overrides and plan_digest(state.plan_text, started) != state.plan_sha256:
        raise ConfigError(str(state_path), [
            "--var: the secret values given differ from the ones the run started with"])
    state.overrides = started
    loaded = parse_plan(state.plan_text, state.plan_source, overrides=started, registry=registry)
    if set(state.steps) != {s.id for s in loaded.plan.steps}:
        raise ConfigError(str(state_path), ["steps: the state file does not match its plan"])
    return state, loaded
