"""Evaluate wait/assert conditions against fresh hub snapshots (and URLs, and plain values).

The shorthands (`vm`, `job`, `pod`, `inference_service`, `metric`) become general snapshot
checks here, in one table-like function (`expand`): the field names they read are the
documented snapshot JSON fields of each source.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from cockpit.plans.model import OPERATORS, Compare, Condition, SnapshotCheck, UrlCheck, ValueCheck
from cockpit.snapshot import Snapshot, Status, to_jsonable
from cockpit.sources import SOURCE_OF_SHORTHAND

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

MISSING = object()

# SLURM states after which a job will never reach another state.
SLURM_TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                  "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT")


class ConditionError(Exception):
    """The condition cannot be evaluated at all (unconfigured source): waiting will not help."""


class ConditionNotChecked(Exception):
    """The condition cannot be checked on this machine (a tool is missing): the message says why;
    the seed check is reported "not checked", the step does not fail."""


class ConditionFailedNow(Exception):
    """A `fail_if` matched: the awaited state can no longer come (the job FAILED). `source` and
    `item` name what failed, so the runner can add what explains it (a job's output)."""

    def __init__(self, message: str, source: str | None = None, item: Any = None) -> None:
        super().__init__(message)
        self.source = source
        self.item = item


@dataclass
class Outcome:
    ok: bool
    detail: str
    outputs: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Comparisons
# ----------------------------------------------------------------------------------------------
def loose_eq(a: Any, b: Any) -> bool:
    """Equal, or equal as numbers ('42' == 42), or equal strings ignoring case ('running')."""
    if a is MISSING or b is MISSING:
        return False
    if a == b and type(a) is type(b):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    fa, fb = as_number(a), as_number(b)
    if fa is not None and fb is not None:
        return fa == fb
    if isinstance(a, (str, int, float)) and isinstance(b, (str, int, float)):
        return str(a).strip().lower() == str(b).strip().lower()
    return a == b


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value is MISSING:
        return None
    if isinstance(value, (int, float)):
        return float(value) if not math.isnan(float(value)) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None


def compare(cmp: Compare, value: Any) -> bool:
    for op in cmp.operators():
        want = getattr(cmp, op)
        if op == "equals":
            return loose_eq(value, want)
        if op == "not_equals":
            return not loose_eq(value, want)
        if op == "one_of":
            return any(loose_eq(value, w) for w in (want or []))
        if op in ("gt", "ge", "lt", "le"):
            got, limit = as_number(value), as_number(want)
            if got is None or limit is None:
                return False
            return {"gt": got > limit, "ge": got >= limit, "lt": got < limit, "le": got <= limit}[op]
        if op == "contains":
            if isinstance(value, str):
                return str(want) in value
            if isinstance(value, Mapping):
                return str(want) in value
            if isinstance(value, (list, tuple)):
                return any(loose_eq(v, want) for v in value)
            return False
        if op == "matches":
            return value is not MISSING and value is not None and re.search(want, str(value)) is not None
        if op == "exists":
            return (value is not MISSING and value is not None) == bool(want)
    return value is not MISSING  # no operator: the field only has to be there


def describe(cmp: Compare) -> str:
    parts = []
    for op in cmp.operators():
        want = getattr(cmp, op)
        symbol = {"equals": "==", "not_equals": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}.get(op)
        parts.append(f"{symbol} {want!r}" if symbol else f"{op} {want!r}")
    return " and ".join(parts) or "present"


def dig(item: Any, path: str) -> Any:
    value = item
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


# ----------------------------------------------------------------------------------------------
# Shorthands -> snapshot checks
# ----------------------------------------------------------------------------------------------
def _states(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def expand(cond: Condition) -> list[SnapshotCheck] | None:
    """The snapshot checks a shorthand stands for (None for url/value conditions)."""
    kind, spec = cond.kind, cond.spec
    if kind == "snapshot":
        return [spec]
    if kind == "vm":
        where: dict[str, Any] = {"name": spec.name}
        if spec.host:
            where["host"] = spec.host
        states = _states(spec.state)
        fail = None if "crashed" in states else Compare(equals="crashed")
        return [SnapshotCheck(source=SOURCE_OF_SHORTHAND["vm"], where=where, field="state", one_of=states, fail_if=fail)]
    if kind == "job":
        states = [s.upper() for s in _states(spec.state)]
        never = [s for s in SLURM_TERMINAL if s not in states]
        return [SnapshotCheck(source=SOURCE_OF_SHORTHAND["job"], where={"job_id": spec.id}, field="state", one_of=states,
                              fail_if=Compare(one_of=never) if never else None)]
    if kind == "pod":
        where = {"name": spec.name}
        if spec.namespace:
            where["namespace"] = spec.namespace
        checks = []
        fail = Compare(equals="Failed")
        if spec.phase is not None:
            checks.append(SnapshotCheck(source=SOURCE_OF_SHORTHAND["pod"], where=where, field="phase", equals=spec.phase,
                                        fail_if=None if spec.phase == "Failed" else fail))
        if spec.ready is not None:
            checks.append(SnapshotCheck(source=SOURCE_OF_SHORTHAND["pod"], where=where, field="ready", equals=spec.ready))
        if not checks:
            checks.append(SnapshotCheck(source=SOURCE_OF_SHORTHAND["pod"], where=where))
        return checks
    if kind == "inference_service":
        where = {"name": spec.name}
        if spec.namespace:
            where["namespace"] = spec.namespace
        return [SnapshotCheck(source=SOURCE_OF_SHORTHAND["inference_service"], section="inference_services", where=where, field="ready",
                              equals=spec.ready)]
    if kind == "metric":
        where = {"run_id": spec.run} if spec.run else {"name": spec.run_name}
        if spec.experiment:
            where["experiment"] = spec.experiment
        ops = {op: getattr(spec, op) for op in spec.operators()}
        return [SnapshotCheck(source=SOURCE_OF_SHORTHAND["metric"], where=where, field=f"metrics.{spec.name}", **ops)]
    return None


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------
def _where_text(check: SnapshotCheck) -> str:
    what = f"{check.source}" + (f" {check.section}" if check.section else " item")
    if check.where:
        return what + " " + ", ".join(f"{k}={v!r}" for k, v in check.where.items())
    return what


def _collection(snapshot: Snapshot, check: SnapshotCheck) -> list[Any] | str:
    if check.section is None:
        values: Any = list(snapshot.items.values())
    else:
        if check.section not in snapshot.sections:
            known = ", ".join(snapshot.sections) or "none"
            return f"{check.source} has no section {check.section!r} (sections: {known})"
        values = snapshot.sections[check.section]
        if isinstance(values, Mapping):
            values = list(values.values())
        elif not isinstance(values, (list, tuple)):
            values = [values]
    return [to_jsonable(v) for v in values]


def check_snapshot(check: SnapshotCheck, snapshot: Snapshot) -> Outcome:
    """Evaluate one snapshot check. Raises ConditionError / ConditionFailedNow."""
    if snapshot.status is Status.UNCONFIGURED:
        raise ConditionError(f"source {check.source} is not configured: {snapshot.hint}")
    if snapshot.fetched_at is None or snapshot.status is Status.ERROR:
        # Never judge on stale data: the source is failing now.
        return Outcome(False, f"{check.source} is not answering: {snapshot.error or 'no data yet'}")
    items = _collection(snapshot, check)
    if isinstance(items, str):
        return Outcome(False, items)
    matched = [i for i in items if all(loose_eq(dig(i, k), v) for k, v in check.where.items())]
    if check.fail_if is not None:
        fail_field = check.field or "state"
        for item in matched:
            value = dig(item, fail_field)
            if value is not MISSING and compare(check.fail_if, value):
                raise ConditionFailedNow(f"{_where_text(check)}: {fail_field} is {value!r}, "
                                         f"so it will not become {describe(check)}", check.source, item)
    if check.field is None:
        passing = matched
    else:
        passing = [i for i in matched if compare(check, dig(i, check.field))]
    ok = len(passing) >= check.min_count and (not check.all or len(passing) == len(matched))
    outputs: dict[str, Any] = {"count": len(passing), "matched": len(matched)}
    if passing:
        first = passing[0]
        if isinstance(first, Mapping):
            outputs.update({k: v for k, v in first.items() if k not in outputs})
        if check.field is not None:
            outputs["value"] = dig(first, check.field)
    if ok:
        shown = f": {check.field} = {outputs.get('value')!r}" if check.field else f": {len(passing)} found"
        return Outcome(True, f"{_where_text(check)}{shown}", outputs)
    if not matched:
        return Outcome(False, f"no {_where_text(check)} yet", outputs)
    if check.field is None:
        return Outcome(False, f"{len(matched)} {_where_text(check)}, want at least {check.min_count}", outputs)
    failing = [i for i in matched if i not in passing]
    sample = failing[0] if failing else matched[0]
    got = dig(sample, check.field)
    got_text = "missing" if got is MISSING else repr(got)
    need = f"all {len(matched)}" if check.all else f"at least {check.min_count}"
    return Outcome(False, f"{_where_text(check)}: {check.field} is {got_text}, want {describe(check)} "
                          f"({len(passing)} of {len(matched)} pass, need {need})", outputs)


async def fresh_snapshot(runtime: "Runtime", source: str) -> Snapshot:
    """A snapshot fetched now (one fetch shared with any already under way)."""
    try:
        collector = runtime.hub.collectors[source]
    except KeyError:
        raise ConditionError(f"source {source} is not part of this cockpit") from None
    return await collector.fetch_once()


async def check_url(spec: UrlCheck) -> Outcome:
    import httpx

    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(verify=spec.verify_tls, timeout=spec.request_timeout, follow_redirects=True) as client:
            response = await client.request(spec.method, spec.url, headers=spec.headers,
                                            json=spec.json_body if spec.method == "POST" else None)
    except httpx.HTTPError as exc:
        return Outcome(False, f"{spec.method} {spec.url}: {type(exc).__name__}: {exc}".rstrip(": "))
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    body = response.text
    outputs: dict[str, Any] = {"status": response.status_code, "elapsed_ms": elapsed_ms, "body": body[:2000]}
    try:
        outputs["json"] = response.json()
    except ValueError:
        pass
    wanted = spec.status if spec.status is not None else None
    if wanted is None:
        status_ok = response.status_code < 400
        want_text = "a status below 400"
    else:
        allowed = wanted if isinstance(wanted, list) else [wanted]
        status_ok = response.status_code in allowed
        want_text = f"status {' or '.join(map(str, allowed))}"
    if not status_ok:
        return Outcome(False, f"{spec.method} {spec.url}: status {response.status_code}, want {want_text}", outputs)
    if spec.contains is not None and spec.contains not in body:
        return Outcome(False, f"{spec.method} {spec.url}: body does not contain {spec.contains!r}", outputs)
    return Outcome(True, f"{spec.method} {spec.url}: {response.status_code} in {elapsed_ms} ms", outputs)


def check_value(spec: ValueCheck) -> Outcome:
    ok = compare(spec, spec.value)
    text = f"value {spec.value!r} {'is' if ok else 'is not'} {describe(spec)}"
    return Outcome(ok, text, {"value": spec.value})


async def evaluate(cond: Condition, runtime: "Runtime") -> Outcome:
    """One evaluation of a condition on data fetched now."""
    if cond.kind == "url":
        outcome = await check_url(cond.url)  # type: ignore[arg-type]
    elif cond.kind == "value":
        outcome = check_value(cond.value)  # type: ignore[arg-type]
    elif cond.kind == "monitoring":
        from cockpit.plans.monitoring import check_monitoring

        outcome = await check_monitoring(cond.monitoring, runtime)  # type: ignore[arg-type]
    else:
        checks = expand(cond) or []
        outputs: dict[str, Any] = {}
        outcome = Outcome(True, "", outputs)
        details = []
        for check in checks:
            one = check_snapshot(check, await fresh_snapshot(runtime, check.source))
            outputs.update(one.outputs)
            details.append(one.detail)
            if not one.ok:
                outcome = Outcome(False, one.detail, outputs)
                break
        else:
            outcome = Outcome(True, "; ".join(details), outputs)
    if not outcome.ok and cond.message:
        outcome.detail = f"{cond.message} ({outcome.detail})"
    return outcome


async def wait_until(
    cond: Condition,
    runtime: "Runtime",
    *,
    timeout: float,
    interval: float,
    on_change: Callable[[str], None] = lambda detail: None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Evaluate until the condition holds or `timeout` passes (then the outcome is not ok,
    with the last reason). Never polls a source faster than its minimum interval."""
    deadline = clock() + timeout
    floor = 0.0
    for check in expand(cond) or []:
        collector = runtime.hub.collectors.get(check.source)
        if collector is not None:
            floor = max(floor, collector.timing.min_interval)
    pause = max(interval, floor, 0.01)
    last_detail = None
    while True:
        outcome = await evaluate(cond, runtime)
        if outcome.ok:
            return outcome
        if outcome.detail != last_detail:
            last_detail = outcome.detail
            on_change(outcome.detail)
        left = deadline - clock()
        if left <= 0:
            return outcome
        await asyncio.sleep(min(pause, left))


__all__ = ["Outcome", "ConditionError", "ConditionFailedNow", "evaluate", "wait_until", "expand", "compare",
           "loose_eq", "check_snapshot", "OPERATORS"]
