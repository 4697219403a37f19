"""The plan file, as pydantic models: what `cockpit plan schema` exports and the loader validates.

A plan is a list of steps. Each step does exactly one thing:

    action: vm.start          call an action of the registry (audited, read-only respected)
    wait:   {vm: {...}}       poll a condition until it holds or the timeout passes
    assert: [{...}, ...]      check conditions once, now
    sleep:  10s               pause (let a service settle)

`needs:` orders steps into a DAG; steps without a path between them run concurrently.
`cleanup: true` steps run after the others, whatever happened (failure, Ctrl-C).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from cockpit.sources import SOURCE_NAMES

STEP_ID = r"^[A-Za-z][A-Za-z0-9_-]*$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as '500ms', '30s', '5m', '1h'."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30, '30s', '5m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration (use 30, '30s', '500ms', '5m' or '1h')")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError("expected a duration such as 30, '30s', '5m'")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError("a duration must be a finite number >= 0")
    return seconds


# `${steps.<id>.<output>}` and `${run.<field>}`: filled in when the step runs.
RUNTIME_REF = re.compile(r"\$\{((?:steps|run)\.[A-Za-z0-9_.-]+)\}")


def is_runtime_ref(value: Any) -> bool:
    return isinstance(value, str) and RUNTIME_REF.fullmatch(value.strip()) is not None


def _number_or_ref(value: float | str) -> float | str:
    if isinstance(value, str) and not is_runtime_ref(value):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"expected a number or ${{steps.<id>.<output>}}, got {value!r}") from None
    return value


# A number, or a reference to a step output that becomes one when the step runs.
Number = Annotated[float | str, AfterValidator(_number_or_ref)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_DURATION_SCHEMA = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h)?$"}]}


def duration_field(default: float | None, description: str) -> Any:
    return Field(default=default, description=description, json_schema_extra=_DURATION_SCHEMA)


# ----------------------------------------------------------------------------------------------
# Comparisons: exactly one operator per check
# ----------------------------------------------------------------------------------------------
OPERATORS = ("equals", "not_equals", "one_of", "gt", "ge", "lt", "le", "contains", "matches", "exists")


class Compare(Strict):
    """One comparison against a value. Numbers compare as numbers; 'equals' also matches
    '42' against 42 (values substituted from step outputs are often strings)."""

    equals: Any = None
    not_equals: Any = None
    one_of: list[Any] | None = None
    gt: Number | None = None
    ge: Number | None = None
    lt: Number | None = None
    le: Number | None = None
    contains: Any = None
    matches: str | None = Field(default=None, description="regular expression (re.search)")
    exists: bool | None = None

    def operators(self) -> list[str]:
        return [op for op in OPERATORS if op in self.model_fields_set]

    @field_validator("matches")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return v


def _one_operator(model: Compare, required: bool) -> None:
    ops = model.operators()
    if len(ops) > 1:
        raise ValueError(f"give one comparison, not {len(ops)} ({', '.join(ops)})")
    if required and not ops:
        raise ValueError(f"give one comparison: {', '.join(OPERATORS)}")


# ----------------------------------------------------------------------------------------------
# Conditions (used by wait and assert)
# ----------------------------------------------------------------------------------------------
if TYPE_CHECKING:
    SourceName = str
else:  # the registry's sources: a plan naming any other source is refused when it loads
    SourceName = Literal[SOURCE_NAMES]


class SnapshotCheck(Compare):
    """The general form: items of one source's snapshot (or one of its sections) that match
    `where`, and a comparison on `field` (a dotted path such as `metrics.loss`)."""

    source: SourceName
    section: str | None = Field(default=None, description="a named section instead of items (e.g. nodes, registered_models)")
    where: dict[str, Any] = Field(default_factory=dict, description="field (dotted path) -> value every matched item has")
    field: str | None = Field(default=None, description="dotted path of the value to compare; omit to require matches only")
    all: bool = Field(default=False, description="every matched item must pass (default: at least one)")
    min_count: int = Field(default=1, ge=0, description="at least this many matched items must pass")
    # A wait ends at once, failed, when a matched item shows this (a job that FAILED while we
    # wait for COMPLETED will never complete).
    fail_if: Compare | None = None

    @model_validator(mode="after")
    def _ops(self) -> "SnapshotCheck":
        _one_operator(self, required=self.field is not None)
        if self.field is None and self.operators():
            raise ValueError("a comparison needs `field` (the value to compare)")
        if self.fail_if is not None:
            _one_operator(self.fail_if, required=True)
        return self


class VmCheck(Strict):
    name: str = Field(min_length=1)
    host: str | None = None
    state: str | list[str] = "running"


class JobCheck(Strict):
    id: str | int = Field(description="SLURM job id")
    state: str | list[str] = "COMPLETED"


class PodCheck(Strict):
    name: str = Field(min_length=1)
    namespace: str | None = None
    ready: bool | None = True
    phase: str | None = None


class InferenceServiceCheck(Strict):
    name: str = Field(min_length=1)
    namespace: str | None = None
    ready: bool = True


class MetricCheck(Compare):
    """A run's latest metric past a value: `{run: ID, name: accuracy, ge: 0.97}`."""

    name: str = Field(min_length=1, description="metric name")
    run: str | None = Field(default=None, description="run id")
    run_name: str | None = None
    experiment: str | None = None

    @model_validator(mode="after")
    def _ops(self) -> "MetricCheck":
        _one_operator(self, required=True)
        if not (self.run or self.run_name):
            raise ValueError("name the run: `run` (run id) or `run_name`")
        return self


class UrlCheck(Strict):
    """An HTTP(S) endpoint answers: status code, optional body text."""

    url: str = Field(min_length=1)
    method: Literal["GET", "HEAD", "POST"] = "GET"
    status: int | list[int] | None = Field(default=None, description="expected status (default: any below 400)")
    contains: str | None = Field(default=None, description="text the body must contain")
    json_body: Any = Field(default=None, alias="json", description="JSON body for POST")
    headers: dict[str, str] = Field(default_factory=dict)
    verify_tls: bool = True
    request_timeout: float = duration_field(10.0, "seconds per request")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if "${" not in v and not re.match(r"^https?://", v):
            raise ValueError("must start with http:// or https://")
        return v

    @field_validator("request_timeout", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)


class ValueCheck(Compare):
    """Compare a value, usually a step output: `{value: "${steps.probe.write_mb_s}", ge: 1000}`."""

    value: Any

    @model_validator(mode="after")
    def _ops(self) -> "ValueCheck":
        _one_operator(self, required=True)
        return self


class MonitoringCheck(Strict):
    """Monitoring works: the expected series come back from Prometheus through the cockpit's
    reader. With `url`, that Prometheus (it scrapes `cockpit serve-metrics`); with `lab: true`
    and no url, a throwaway loopback stack is started for the check (the exporter on this
    plan's config, scraped by the real `prometheus` binary) and stopped after it; without the
    binary the check is reported "not checked" with why."""

    url: str | None = Field(default=None, description="Prometheus base URL (default: cockpit.prometheus.url / "
                            "PROMETHEUS_URL)")
    lab: bool = Field(default=False, description="no url: start a loopback exporter + Prometheus for the check")
    series: list[str] = Field(
        default_factory=lambda: ["cockpit_gpu_info", "cockpit_source_up == 1"], min_length=1,
        description="PromQL expressions that must each return at least one series")
    within: float = duration_field(60.0, "how long to wait for the series to appear (first scrapes)")

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str | None) -> str | None:
        if v and "${" not in v and not re.match(r"^https?://", v):
            raise ValueError("must start with http:// or https://")
        return v or None

    @field_validator("within", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)


CONDITION_KINDS = ("snapshot", "vm", "job", "pod", "inference_service", "metric", "url", "value", "monitoring")


class Condition(Strict):
    """Exactly one of the kinds. `vm`, `job`, `pod`, `inference_service` and `metric` are
    shorthands for `snapshot` checks on the matching source."""

    snapshot: SnapshotCheck | None = None
    vm: VmCheck | None = None
    job: JobCheck | None = None
    pod: PodCheck | None = None
    inference_service: InferenceServiceCheck | None = None
    metric: MetricCheck | None = None
    url: UrlCheck | None = None
    value: ValueCheck | None = None
    monitoring: MonitoringCheck | None = None
    message: str | None = Field(default=None, description="shown when the check fails")
    seed: str | None = Field(
        default=None, max_length=200,
        description="the checklist's own success criterion this condition checks, e.g. "
                    "'MLOPS-1.1: test accuracy >= 0.97'; the summary lists these with verdicts and figures")
    required: bool = Field(
        default=True,
        description="false: the verdict is recorded and reported (seed checks) but does not fail the step; for a "
                    "target a profile measures without being able to meet it (a local disk against BeeGFS's 1 GB/s)")

    @model_validator(mode="after")
    def _exactly_one(self) -> "Condition":
        given = [k for k in CONDITION_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(CONDITION_KINDS)} (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in CONDITION_KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


class WaitSpec(Condition):
    interval: float = duration_field(2.0, "seconds between checks (never below the source's minimum interval)")

    @field_validator("interval", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)


# ----------------------------------------------------------------------------------------------
# Steps and the plan
# ----------------------------------------------------------------------------------------------
class Retry(Strict):
    attempts: int = Field(default=1, ge=1, le=100, description="total attempts, first one included")
    backoff: float = duration_field(1.0, "pause before the second attempt")
    factor: float = Field(default=2.0, ge=1.0, le=10.0, description="each further pause is this much longer")
    max_backoff: float = duration_field(60.0, "longest pause")

    @field_validator("backoff", "max_backoff", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)

    def delay(self, failed_attempts: int) -> float:
        return min(self.max_backoff, self.backoff * self.factor ** max(0, failed_attempts - 1))


STEP_KINDS = ("action", "wait", "assert", "sleep")


class Step(Strict):
    id: str = Field(pattern=STEP_ID, max_length=64, description="unique; later steps use ${steps.<id>.<output>}")
    name: str | None = Field(default=None, description="what a person reads in reports")
    needs: list[str] = Field(default_factory=list, description="steps that must pass first")
    cleanup: bool | Literal["passed"] = Field(
        default=False,
        description="runs after the others, whatever happened (skipped when a step it needs never ran or "
                    "its action reported changed: false, e.g. vm.start on a running VM); 'passed': only after "
                    "the steps it needs passed (undo only what this run surely made, e.g. never delete a "
                    "same-named object that a failed create found already there)")
    timeout: float | None = duration_field(None, "limit per attempt (default: the plan's defaults.timeout)")
    retry: Retry | None = None
    when: bool = Field(default=True, description="false skips the step (and what needs it); usually a variable: when: ${with_slurm}")
    probe: bool = Field(
        default=False,
        description="a check of what this machine can do: when it fails the run does not; the step is skipped "
                    "with its error as the reason ('cannot run here: ...'), and so is every step that needs it, "
                    "so their seed checks read 'not checked' with that reason, never passed")

    action: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", description="action name, e.g. vm.start")
    params: dict[str, Any] = Field(default_factory=dict)
    wait: WaitSpec | None = None
    assert_: list[Condition] | None = Field(default=None, alias="assert")
    sleep: float | None = duration_field(None, "pause this long")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("timeout", "sleep", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float | None:
        return None if v is None else parse_duration(v)

    @field_validator("retry", mode="before")
    @classmethod
    def _retry_shorthand(cls, v: Any) -> Any:
        return {"attempts": v} if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("when", mode="before")
    @classmethod
    def _when(cls, v: Any) -> Any:
        if isinstance(v, str):
            word = v.strip().lower()
            if word in ("true", "yes", "on", "1"):
                return True
            if word in ("false", "no", "off", "0", ""):
                return False
            raise ValueError(f"expected true or false, got {v!r}")
        return v

    @field_validator("assert_", mode="before")
    @classmethod
    def _assert_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("needs", mode="before")
    @classmethod
    def _needs_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_kind(self) -> "Step":
        given = [k for k in STEP_KINDS if getattr(self, "assert_" if k == "assert" else k) is not None]
        if len(given) != 1:
            raise ValueError(f"a step does exactly one of {', '.join(STEP_KINDS)} (got {', '.join(given) or 'none'})")
        if self.params and self.action is None:
            raise ValueError("params belong to an action step")
        if self.assert_ is not None and not self.assert_:
            raise ValueError("assert needs at least one condition")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, "assert_" if k == "assert" else k) is not None)

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        if self.action:
            return self.action
        return self.kind


class Defaults(Strict):
    timeout: float = duration_field(600.0, "limit per step attempt")
    retry: Retry = Field(default_factory=Retry)

    @field_validator("timeout", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("retry", mode="before")
    @classmethod
    def _retry_shorthand(cls, v: Any) -> Any:
        return {"attempts": v} if isinstance(v, int) and not isinstance(v, bool) else v


# What a plan can need from the machine it runs against (`cockpit plan list` shows it).
Requirement = Literal["slurm", "mlflow", "libvirt", "kubernetes", "kserve", "gpu", "beegfs", "registry",
                      "container", "monitoring", "oumi"]


class Plan(Strict):
    plan: str = Field(min_length=1, max_length=120, description="the plan's name (JUnit test suite name)")
    description: str = ""
    seeds: list[str] = Field(default_factory=list, description="the checklist items this plan automates (e.g. TASK-041)")
    vars: dict[str, Any] = Field(default_factory=dict, description="variables with defaults; override with --var k=v")
    profiles: dict[str, dict[str, Any] | str] = Field(
        default_factory=dict,
        description="named sets of variable values chosen with --var profile=NAME (e.g. lab: small data, CPU); "
                    "--var still wins over the profile. A text instead of values says why the plan cannot offer "
                    "that profile (choosing it is then an error that gives the reason)")
    requires: list[Requirement] = Field(
        default_factory=list, description="what the plan needs to run: slurm, mlflow, kubernetes, gpu, beegfs, ...")
    defaults: Defaults = Field(default_factory=Defaults)
    max_parallel: int = Field(default=8, ge=1, le=1024, description="steps running at once")
    fail_fast: bool = Field(default=False, description="on the first failure, stop starting steps (cleanup still runs)")
    steps: list[Step] = Field(min_length=1)

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, v: dict[str, dict[str, Any] | str]) -> dict[str, dict[str, Any] | str]:
        for name, values in v.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", str(name)):
                raise ValueError(f"profile name {name!r}: use letters, digits, - and _")
            for var in values if isinstance(values, dict) else {}:
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(var)):
                    raise ValueError(f"profile {name!r}: variable name {var!r}: use letters, digits and _")
        return v

    @field_validator("vars")
    @classmethod
    def _var_names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(name)):
                raise ValueError(f"variable name {name!r}: use letters, digits and _")
        return v

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def timeout_for(self, step: Step) -> float:
        return step.timeout if step.timeout is not None else self.defaults.timeout

    def retry_for(self, step: Step) -> Retry:
        return step.retry or self.defaults.retry


def plan_json_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "AI-HOW Cockpit plan"
    return schema
