"""Decisions about MLflow runs, no I/O: filters, run comparison, links to the rest of the cockpit.

A filter on the runs pane (`/`) is the cockpit's one grammar (cockpit.filtering) over these fields:

    exp:NAME  exp~REGEX      experiment (`exp:a,b` = either)
    status:FAILED,KILLED     run status
    name:bulk  name~^ep      run name;  id:3f2a  run id;  user:alice
    duration>1h  start>2026-11-29
    metric.loss<0.1          any metric (also metric:loss<0.1, the older spelling)
    param.lr:0.01            any param
    tag.slurm_job_id:42      any tag (tag:KEY=VALUE, and tag:KEY for "is set", still work)
    anything else            regex over run name, run id and experiment;  `!` negates a term

The same filter matches snapshot items locally, and what MLflow's search grammar can express
(exact experiments, one status, tag equality, metric comparisons, plain words as name LIKE) becomes
a server-side filter string for paging through stores with thousands of runs; the rest (regexes,
negations, several statuses) narrows each page locally.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from cockpit.filtering import Field, FilterError, Fields, Query, compile_filter

__all__ = ["FilterError", "RunFilter", "parse_filter", "matches", "filter_runs", "search_filter", "experiment_ids",
           "FIELDS", "compare_runs", "run_links"]

STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
_OPS = {"<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "=": operator.eq}
_METRIC = re.compile(r"^([\w./-]+)(<=|>=|!=|<|>|=)(-?[\d.eE+-]+)$")
_KEY = re.compile(r"^[\w./-]+$")
_PLAIN = re.compile(r"^[\w./-]+$")


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _in(section: str, key: str) -> Any:
    return lambda item: (_get(item, section) or {}).get(key)


def _dynamic(name: str) -> Field | None:
    """metric.KEY / param.KEY / tag.KEY (plural prefixes too): one field per key."""
    prefix, dot, key = name.partition(".")
    if not dot or not key:
        return None
    prefix = prefix.lower().rstrip("s")
    if prefix == "metric":
        return Field(f"metric.{key}", _in("metrics", key), "number", free_text=False)
    if prefix == "param":
        return Field(f"param.{key}", _in("params", key), "auto", free_text=False)
    if prefix == "tag":
        return Field(f"tag.{key}", _in("tags", key), "exact", free_text=False)
    return None


@dataclass(frozen=True)
class RunFilter:
    """A parsed runs filter: the full query for local matching, and the parts MLflow's server
    search can take (`search_filter`, `experiment_ids`)."""

    experiments: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tags: tuple[tuple[str, str | None], ...] = ()  # (key, value or None for "is set")
    metrics: tuple[tuple[str, str, float], ...] = ()  # (key, op, value)
    text: tuple[str, ...] = ()  # plain words: run name LIKE
    query: Query | None = field(default=None, compare=False)

    @property
    def empty(self) -> bool:
        return self.query is None or self.query.empty


def _legacy(word: str) -> str:
    """The older spellings as the grammar's: tag:K=V -> tag.K:V, tag:K -> tag.K~ (is set),
    metric:loss<0.1 -> metric.loss<0.1, metric:loss!=1 -> !metric.loss:1."""
    negate = "!" if word.startswith("!") else ""
    body = word[len(negate):]
    kind, sep, rest = body.partition(":")
    kind = kind.lower()
    if not sep or kind not in ("tag", "metric"):
        return word
    if not rest:
        raise FilterError(f"filter {word!r}: nothing after '{kind}:'")
    if kind == "tag":
        key, eq, value = rest.partition("=")
        if not _KEY.match(key):
            raise FilterError(f"filter {word!r}: tag key {key!r} may hold letters, digits, '_', '.', '-', '/'")
        return f"{negate}tag.{key}:{value}" if eq else f"{negate}tag.{key}~"
    match = _METRIC.match(rest)
    if not match:
        raise FilterError(f"filter {word!r}: write metric:NAME<VALUE or metric.NAME<VALUE (operators < <= > >= = !=)")
    key, op, value = match.groups()
    if op == "!=":
        return f"{'' if negate else '!'}metric.{key}:{value}"
    return f"{negate}metric.{key}{':' if op == '=' else op}{value}"


FIELDS = Fields((
    Field("name", lambda r: _get(r, "name"), "text", aliases=("run_name",)),
    Field("id", lambda r: _get(r, "run_id"), "text", aliases=("run", "run_id")),
    Field("exp", lambda r: _get(r, "experiment"), "exact", aliases=("experiment", "e")),
    Field("status", lambda r: _get(r, "status"), "exact", aliases=("s",), normalize=str.upper, choices=STATUSES,
          free_text=False),
    Field("user", lambda r: _get(r, "user"), "exact", aliases=("u",), free_text=False),
    Field("start", lambda r: _get(r, "start_time"), "time", free_text=False),
    Field("duration", lambda r: _get(r, "duration_s"), "duration", free_text=False),
), dynamic=_dynamic, dynamic_help="and metric.KEY, param.KEY, tag.KEY", rewrite=_legacy)


def parse_filter(text: str) -> RunFilter:
    """Parse a runs filter; raises FilterError naming the bad term."""
    query = compile_filter(text, FIELDS)
    exps: list[str] = []
    statuses: list[str] = []
    tags: list[tuple[str, str | None]] = []
    metrics: list[tuple[str, str, float]] = []
    plain: list[str] = []
    for term in query.terms:
        if term.negate:
            continue
        name = term.field.name if term.field is not None else None
        if name is None:
            if _PLAIN.match(term.raw[0]):
                plain.append(term.raw[0].lower())
        elif name == "exp" and term.op == ":":
            exps.extend(v for v in term.raw if v)
        elif name == "status" and term.op == ":":
            statuses.extend(v.upper() for v in term.raw if v)
        elif name.startswith("tag.") and term.op == ":" and len(term.raw) == 1 and term.raw[0]:
            tags.append((name[4:], term.raw[0]))
        elif name.startswith("tag.") and term.op == "~" and term.raw == ("",):
            tags.append((name[4:], None))
        elif name.startswith("metric.") and term.op in ("<", ">", "<=", ">="):
            metrics.append((name[7:], term.op, float(term.values[0])))
        elif name.startswith("metric.") and term.op == ":" and len(term.values) == 1:
            metrics.append((name[7:], "=", float(term.values[0])))
    return RunFilter(tuple(dict.fromkeys(exps)), tuple(dict.fromkeys(statuses)), tuple(tags), tuple(metrics),
                     tuple(plain), query)


def matches(f: RunFilter, item: Any) -> bool:
    """Whether a run item (RunItem or its JSON dict) passes the filter."""
    return f.query is None or f.query.matches(item)


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
    for key, tag_value in f.tags:
        clauses.append(f"tags.`{key}` = {_quote(tag_value)}" if tag_value is not None else f"tags.`{key}` LIKE '%'")
    for key, op, number in f.metrics:
        clauses.append(f"metrics.`{key}` {op} {number!r}")
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
