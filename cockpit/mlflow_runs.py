"""Decisions about MLflow runs, no I/O: filters, run comparison, links to the rest of the cockpit.

A filter is typed as words on the runs pane (`/`):

    exp:NAME        experiment name (exact; several exp: words = any of them)
    status:FAILED   run status, comma list allowed (status:running,failed)
    tag:KEY=VALUE   tag equals; tag:KEY alone = the tag is set
    metric:loss<0.1 metric comparison (< <= > >= = !=)
    anything else   substring of the run name, run id or experiment (case-insensitive)

The same filter matches snapshot items locally and becomes an MLflow search filter string for
server-side paging through stores with thousands of runs.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
_OPS = {"<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "=": operator.eq}
_METRIC = re.compile(r"^([\w./-]+)(<=|>=|!=|<|>|=)(-?[\d.eE+-]+)$")
_KEY = re.compile(r"^[\w./-]+$")


class FilterError(ValueError):
    """A filter word that cannot be understood; the message names it."""


@dataclass(frozen=True)
class RunFilter:
    experiments: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tags: tuple[tuple[str, str | None], ...] = ()  # (key, value or None for "is set")
    metrics: tuple[tuple[str, str, float], ...] = ()  # (key, op, value)
    text: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.experiments or self.statuses or self.tags or self.metrics or self.text)


def parse_filter(text: str) -> RunFilter:
    exps: list[str] = []
    statuses: list[str] = []
    tags: list[tuple[str, str | None]] = []
    metrics: list[tuple[str, str, float]] = []
    words: list[str] = []
    for word in text.split():
        kind, sep, rest = word.partition(":")
        kind = kind.lower()
        if not sep or kind not in ("exp", "experiment", "status", "tag", "metric"):
            words.append(word.lower())
            continue
        if not rest:
            raise FilterError(f"filter {word!r}: nothing after '{kind}:'")
        if kind in ("exp", "experiment"):
            exps.append(rest)
        elif kind == "status":
            for status in rest.upper().split(","):
                if status not in STATUSES:
                    raise FilterError(f"filter {word!r}: unknown status {status!r} (known: {', '.join(STATUSES)})")
                statuses.append(status)
        elif kind == "tag":
            key, eq, value = rest.partition("=")
            if not _KEY.match(key):
                raise FilterError(f"filter {word!r}: tag key {key!r} may hold letters, digits, '_', '.', '-', '/'")
            tags.append((key, value if eq else None))
        else:
            match = _METRIC.match(rest)
            if not match:
                raise FilterError(f"filter {word!r}: write metric:NAME<VALUE (operators < <= > >= = !=)")
            try:
                metrics.append((match[1], match[2], float(match[3])))
            except ValueError:
                raise FilterError(f"filter {word!r}: {match[3]!r} is not a number") from None
    return RunFilter(tuple(exps), tuple(dict.fromkeys(statuses)), tuple(tags), tuple(metrics), tuple(words))


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def matches(f: RunFilter, item: Any) -> bool:
    """Whether a run item (RunItem or its JSON dict) passes the filter."""
    if f.experiments and _get(item, "experiment") not in f.experiments:
        return False
    if f.statuses and _get(item, "status") not in f.statuses:
        return False
    tags = _get(item, "tags") or {}
    for key, value in f.tags:
        if key not in tags or (value is not None and tags[key] != value):
            return False
    metrics = _get(item, "metrics") or {}
    for key, op, value in f.metrics:
        if key not in metrics or not _OPS[op](metrics[key], value):
            return False
    if f.text:
        hay = " ".join(str(_get(item, n) or "") for n in ("name", "run_id", "experiment")).lower()
        if not all(word in hay for word in f.text):
            return False
    return True


def filter_runs(items: Iterable[Any], f: RunFilter) -> list[Any]:
    return [i for i in items if matches(f, i)]


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def search_filter(f: RunFilter) -> str:
    """The MLflow search filter string for server-side paging (experiments go as ids, not here).

    MLflow's grammar has AND but no OR, so several statuses become no status clause (the
    local `matches` narrows the page instead) and several text words become several LIKEs."""
    clauses: list[str] = []
    if len(f.statuses) == 1:
        clauses.append(f"attributes.status = {_quote(f.statuses[0])}")
    for key, value in f.tags:
        clauses.append(f"tags.`{key}` = {_quote(value)}" if value is not None else f"tags.`{key}` LIKE '%'")
    for key, op, value in f.metrics:
        clauses.append(f"metrics.`{key}` {op} {value!r}")
    for word in f.text:
        clauses.append(f"attributes.run_name ILIKE {_quote('%' + word + '%')}")
    return " AND ".join(clauses)


def experiment_ids(f: RunFilter, experiments: Iterable[Any]) -> list[str] | None:
    """Ids of the experiments the filter names (None: no experiment filter). Unknown names raise."""
    if not f.experiments:
        return None
    by_name = {_get(e, "name"): str(_get(e, "experiment_id")) for e in experiments}
    unknown = [n for n in f.experiments if n not in by_name]
    if unknown:
        raise FilterError(f"unknown experiment {unknown[0]!r} (known: {', '.join(sorted(by_name)) or 'none'})")
    return [by_name[n] for n in f.experiments]


# -- comparison ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompareRow:
    section: str  # "metric" | "param" | "tag" | "run"
    key: str
    a: str | None
    b: str | None
    delta: float | None = None  # b - a for metrics present in both

    @property
    def differs(self) -> bool:
        return self.a != self.b


def _num(value: float) -> str:
    return f"{value:.6g}"


def compare_runs(a: Any, b: Any, *, all_tags_a: Mapping[str, str] | None = None,
                 all_tags_b: Mapping[str, str] | None = None) -> list[CompareRow]:
    """Rows for a side-by-side view: run facts, then metrics (with b - a), params, tags."""
    rows = [CompareRow("run", k, _str(_get(a, k)), _str(_get(b, k)))
            for k in ("name", "experiment", "status", "start_time", "duration_s")]
    ma, mb = _get(a, "metrics") or {}, _get(b, "metrics") or {}
    for key in sorted(set(ma) | set(mb)):
        va, vb = ma.get(key), mb.get(key)
        rows.append(CompareRow("metric", key, None if va is None else _num(va), None if vb is None else _num(vb),
                               (vb - va) if (va is not None and vb is not None) else None))
    for section, da, db in (("param", _get(a, "params") or {}, _get(b, "params") or {}),
                            ("tag", all_tags_a or _get(a, "tags") or {}, all_tags_b or _get(b, "tags") or {})):
        for key in sorted(set(da) | set(db)):
            rows.append(CompareRow(section, key, da.get(key), db.get(key)))
    return rows


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


# -- links ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunLink:
    """A run points at something else in the cockpit: `source` is the pane, `key` the item key."""

    kind: str  # slurm_job | k8s_pod | plan_step
    source: str  # snapshot source name, or "plans"
    key: str
    label: str
    extra: Mapping[str, str] = field(default_factory=dict)


def run_links(tags: Mapping[str, str]) -> list[RunLink]:
    links: list[RunLink] = []
    if job := tags.get("slurm_job_id"):
        links.append(RunLink("slurm_job", "slurm", job, f"SLURM job {job}"))
    if pod := tags.get("k8s_pod"):
        ns = tags.get("k8s_namespace") or "default"
        links.append(RunLink("k8s_pod", "kubernetes", f"{ns}/{pod}", f"pod {ns}/{pod}", {"namespace": ns, "pod": pod}))
    if plan := tags.get("plan"):
        step = tags.get("plan_step")
        label = f"plan {plan}" + (f" step {step}" if step else "")
        links.append(RunLink("plan_step", "plans", f"{plan}#{step}" if step else plan, label,
                             {"plan": plan, **({"step": step} if step else {})}))
    return links
