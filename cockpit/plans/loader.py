"""Read a plan file: YAML, `${VAR}` substitution, schema validation and the DAG checks.

Every problem names its place (`steps[2] -> needs[0]: unknown step 'sbumit'`) and all problems
are reported at once, as a ConfigError (exit code 2: nothing runs).

Variables: `${name}` and `${name:-default}` take, in order, `--var name=value`, the plan's
`vars:` section, then the environment (and COCKPIT_* built-ins). `$$` is a literal `$`.
`${steps.<id>.<output>}` and `${run.id}` stay as they are until the step runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping


from cockpit.redact import register_secrets_in
from cockpit.yamltext import load_yaml, read_text_bounded
from pydantic import BaseModel, ValidationError

from cockpit.errors import ConfigError, format_loc, format_validation_error
from cockpit.plans.model import RUNTIME_REF, Plan, Step, is_runtime_ref

if TYPE_CHECKING:
    from cockpit.actions import ActionRegistry

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::?-((?:[^{}]|\{[^{}]*\})*))?\}")
_MISSING = object()


@dataclass
class LoadedPlan:
    plan: Plan
    text: str
    source: str  # file path, or '<string>'
    variables: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return plan_digest(self.text, self.overrides)

    def waves(self) -> list[list[str]]:
        return waves(self.plan)


def plan_digest(text: str, overrides: Mapping[str, Any]) -> str:
    blob = text + "\0" + json.dumps(dict(overrides), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def parse_var(text: str) -> tuple[str, Any]:
    """`--var key=value`; the value is read as JSON when it parses (2, true, [1,2]), else text."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        raise ValueError(f"--var {text!r}: expected NAME=VALUE with NAME of letters, digits and _")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
    except RecursionError:
        raise ValueError(f"--var {key}: nested deeper than JSON can be read") from None
    except ValueError:  # a number past Python's digit limit
        raise ValueError(f"--var {key}: a number with {len(value.strip())} digits is too long") from None


def parse_vars(items: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems = []
    for item in items:
        try:
            key, value = parse_var(item)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        out[key] = value
    if problems:
        raise ConfigError("--var", problems)
    return out


# ----------------------------------------------------------------------------------------------
# Substitution
# ----------------------------------------------------------------------------------------------
class _Expander:
    def __init__(self, variables: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.variables = variables
        self.env = env
        self.problems: list[str] = []
        self.used: set[str] = set()

    def lookup(self, name: str) -> Any:
        if name in self.variables:
            self.used.add(name)
            return self.variables[name]
        value = self.env.get(name)
        if value not in (None, ""):
            return value
        return _MISSING

    def string(self, text: str, where: str) -> Any:
        # A string that is exactly one `${name}` keeps the variable's type (2 stays a number).
        whole = _VAR.fullmatch(text)
        if whole and whole.group(0) != "$$" and "." not in whole.group(1):
            value = self._value(whole, where)
            return value

        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$$"  # kept for the run-time pass, which turns it into '$'
            name = match.group(1)
            if "." in name:  # ${steps.x.y} / ${run.id}: run time
                return match.group(0)
            value = self._value(match, where)
            return "" if value is None else (json.dumps(value) if isinstance(value, (dict, list)) else str(value))

        return _VAR.sub(sub, text)

    def _value(self, match: re.Match[str], where: str) -> Any:
        name, default = match.group(1), match.group(2)
        value = self.lookup(name)
        if value is not _MISSING and value != "":
            return value
        if default is not None:
            return self.string(default, where) if "$" in default else default
        self.problems.append(f"{where}: ${{{name}}} is not set (declare it under vars:, pass --var {name}=..., or set it in the environment)")
        return ""

    def tree(self, node: Any, loc: list[Any]) -> Any:
        if isinstance(node, str):
            return self.string(node, format_loc(loc)) if "$" in node else node
        if isinstance(node, dict):
            return {k: self.tree(v, [*loc, k]) for k, v in node.items()}
        if isinstance(node, list):
            return [self.tree(v, [*loc, i]) for i, v in enumerate(node)]
        return node


class _PlanVars(Mapping[str, Any]):
    """The plan's variables, each expanded on first use so one may refer to another
    (`out: "${base}/out"`); --var overrides win and are taken as given. A cycle, or a chain
    deeper than MAX_VAR_CHAIN, is a problem naming the variables."""

    MAX_VAR_CHAIN = 50

    def __init__(self, declared: Mapping[str, Any], overrides: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.declared = {str(k): v for k, v in declared.items()}
        self.overrides = overrides
        self.resolved: dict[str, Any] = {}
        self.stack: list[str] = []
        self.expander = _Expander(self, env)

    def __contains__(self, name: object) -> bool:
        return name in self.overrides or name in self.declared

    def __getitem__(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        if name in self.resolved:
            return self.resolved[name]
        if name in self.stack or len(self.stack) >= self.MAX_VAR_CHAIN:
            loop = self.stack[self.stack.index(name):] if name in self.stack else ["...", *self.stack[-3:]]
            chain = " -> ".join([*loop, name])
            why = "refers to itself" if name in self.stack else f"is more than {self.MAX_VAR_CHAIN} variables deep"
            self.expander.problems.append(f"vars -> {name}: {why} ({chain})")
            self.resolved[name] = ""
            return ""
        self.stack.append(name)
        try:
            value = self.expander.tree(self.declared[name], ["vars", name])
        finally:
            self.stack.pop()
        self.resolved[name] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter({**self.declared, **self.overrides})

    def __len__(self) -> int:
        return len({**self.declared, **self.overrides})


def _yaml_boolean_traps(doc: Mapping[str, Any]) -> list[str]:
    """YAML 1.1 reads off/on/yes/no as booleans: `id: off` is not a name. Say so plainly."""
    out = []
    steps = doc.get("steps")
    if not isinstance(steps, list):
        return out
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        if isinstance(step.get("id"), bool):
            out.append(f"steps[{i}] -> id: YAML read this as {str(step['id']).lower()} "
                       "(off/on/no/yes are booleans in YAML): quote it, e.g. id: 'off'")
        needs = step.get("needs")
        for j, dep in enumerate(needs if isinstance(needs, list) else [needs]):
            if isinstance(dep, bool):
                where = f"needs[{j}]" if isinstance(needs, list) else "needs"
                out.append(f"steps[{i}] -> {where}: YAML read this as {str(dep).lower()}: quote the step id")
    return out


def _profile_values(raw: Mapping[str, Any], declared: Mapping[str, Any], overrides: Mapping[str, Any],
                    expander: "_Expander") -> tuple[dict[str, Any], list[str]]:
    """The variable values of the profile `--var profile=NAME` (or `vars: {profile: NAME}`) picks.

    A profile only sets variables the plan declares; --var overrides still win over it."""
    name = overrides.get("profile", declared.get("profile"))
    profiles = raw.get("profiles") or {}
    if name in (None, "", "default"):
        return {}, []
    if isinstance(profiles, dict) and isinstance(profiles.get(name), str):
        # A profile the plan cannot offer, with the reason: `lab: "needs KServe, which ..."`.
        return {}, [f"--var profile={name}: not available for this plan: {profiles[name]}"]
    if not isinstance(profiles, dict) or not isinstance(profiles.get(name), dict):
        known = ", ".join(str(p) for p in profiles) if isinstance(profiles, dict) and profiles else "none"
        return {}, [f"--var profile={name}: the plan has no such profile (its profiles: {known})"]
    chosen = profiles[name]
    problems = [f"profiles -> {name} -> {var}: not a variable of the plan (declare it under vars:)"
                for var in chosen if var not in declared]
    values = {str(k): expander.tree(v, ["profiles", name, k]) for k, v in chosen.items()}
    return values, problems


def _builtin_env() -> dict[str, str]:
    from cockpit.config import builtin_variables

    return builtin_variables()


# ----------------------------------------------------------------------------------------------
# DAG
# ----------------------------------------------------------------------------------------------
def ancestors(plan: Plan) -> dict[str, set[str]]:
    """Every step's transitive `needs` (assumes a validated, acyclic plan)."""
    needs = {s.id: list(s.needs) for s in plan.steps}
    memo: dict[str, set[str]] = {}

    def of(sid: str) -> set[str]:
        if sid not in memo:
            memo[sid] = set()
            out: set[str] = set()
            for dep in needs.get(sid, []):
                out.add(dep)
                out |= of(dep)
            memo[sid] = out
        return memo[sid]

    return {sid: of(sid) for sid in needs}


def waves(plan: Plan) -> list[list[str]]:
    """Steps grouped by depth: every step in a wave needs only steps of earlier waves. Regular
    steps come first; cleanup steps after them (they run last)."""
    out: list[list[str]] = []
    for cleanup in (False, True):
        ids = [s.id for s in plan.steps if bool(s.cleanup) == cleanup]
        needs = {s.id: [d for d in s.needs if d in ids] for s in plan.steps if bool(s.cleanup) == cleanup}
        done: set[str] = set()
        while len(done) < len(ids):
            wave = [sid for sid in ids if sid not in done and all(d in done for d in needs[sid])]
            if not wave:  # a cycle (the loader reports it before we get here)
                break
            out.append(wave)
            done.update(wave)
    return out


def _find_cycle(steps: list[Step]) -> list[str] | None:
    graph = {s.id: [d for d in s.needs] for s in steps}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def runtime_refs(node: Any, loc: list[Any]) -> Iterable[tuple[list[Any], str]]:
    """(location, 'steps.x.y' / 'run.id') for every run-time reference in a subtree."""
    if isinstance(node, str):
        for match in RUNTIME_REF.finditer(node):
            yield loc, match.group(1)
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from runtime_refs(v, [*loc, k])
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from runtime_refs(v, [*loc, i])


RUN_FIELDS = ("id", "report_dir", "plan")


def _check_graph(plan: Plan) -> list[str]:
    problems: list[str] = []
    first: dict[str, int] = {}
    for i, step in enumerate(plan.steps):
        if step.id in first:
            problems.append(f"steps[{i}] -> id: duplicate id {step.id!r} (first used by steps[{first[step.id]}])")
        else:
            first[step.id] = i
    by_id = {s.id: s for s in plan.steps}
    for i, step in enumerate(plan.steps):
        for j, dep in enumerate(step.needs):
            if dep == step.id:
                problems.append(f"steps[{i}] -> needs[{j}]: a step cannot need itself")
            elif dep not in by_id:
                problems.append(f"steps[{i}] -> needs[{j}]: unknown step {dep!r} (steps: {', '.join(by_id)})")
            elif by_id[dep].cleanup and not step.cleanup:
                problems.append(f"steps[{i}] -> needs[{j}]: {dep!r} is a cleanup step, which runs last; "
                                "only another cleanup step may need it")
        if len(set(step.needs)) != len(step.needs):
            problems.append(f"steps[{i}] -> needs: lists a step twice")
    if problems:
        return problems
    cycle = _find_cycle(plan.steps)
    if cycle:
        return [f"steps: `needs` form a cycle: {' -> '.join(cycle)}"]
    anc = ancestors(plan)
    for i, step in enumerate(plan.steps):
        body = step.model_dump(by_alias=True, exclude_unset=True)
        for key in ("params", "wait", "assert"):
            if key not in body:
                continue
            for loc, ref in runtime_refs(body[key], [f"steps[{i}]", key]):
                parts = ref.split(".")
                where = format_loc(loc)
                if parts[0] == "run":
                    if len(parts) != 2 or parts[1] not in RUN_FIELDS:
                        problems.append(f"{where}: ${{{ref}}}: unknown (known: {', '.join('run.' + f for f in RUN_FIELDS)})")
                    continue
                if len(parts) < 3:
                    problems.append(f"{where}: ${{{ref}}}: write ${{steps.<id>.<output>}}")
                    continue
                target = parts[1]
                if target not in by_id:
                    problems.append(f"{where}: ${{{ref}}} refers to unknown step {target!r}")
                elif target == step.id:
                    problems.append(f"{where}: ${{{ref}}}: a step cannot use its own outputs")
                elif target not in anc[step.id]:
                    problems.append(f"{where}: ${{{ref}}} uses step {target!r}, which this step does not need "
                                    f"(add {target!r} to needs so it has run first)")
    return problems


def _check_actions(plan: Plan, registry: "ActionRegistry") -> list[str]:
    """Unknown action names, and parameters that are wrong already (values known before run time)."""
    from cockpit.actions import UnknownAction

    problems = []
    unknown: list[str] = []
    for i, step in enumerate(plan.steps):
        if step.action is None:
            continue
        try:
            action = registry.get(step.action)
        except UnknownAction:
            if not step.when:
                continue  # disabled (when: false): it will not run, so it need not exist here
            unknown.append(step.action)
            problems.append(f"steps[{i}] -> action: unknown action {step.action!r}")
            continue
        problems.extend(check_params(action.params, step.params, [f"steps[{i}]", "params"]))
    if unknown:
        known = ", ".join(a.name for a in registry) or "none"
        problems.append(f"(actions known to this build: {known})")
    return problems


def check_params(model: type[BaseModel], params: Mapping[str, Any], prefix: list[Any]) -> list[str]:
    """Validate action params now, leaving out fields whose value is filled in at run time."""
    deferred = {k for k, v in params.items() if any(True for _ in runtime_refs(v, []))}
    # Unknown names are refused even where the model would silently ignore them: a typo in a
    # plan must not quietly drop a parameter.
    names = set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}
    unknown = [f"{format_loc([*prefix, k])}: unknown parameter (check the spelling; known: {', '.join(model.model_fields)})"
               for k in params if k not in names]
    if unknown and model.model_config.get("extra") != "allow":
        return unknown
    try:
        model.model_validate(dict(params))
    except ValidationError as exc:
        kept = []
        for err in exc.errors(include_url=False):
            if err["loc"] and err["loc"][0] in deferred:
                continue
            kept.append(err)
        if kept:
            lines = []
            for err in kept:
                loc = [*prefix, *[p for p in err["loc"] if isinstance(p, int) or "[" not in str(p)]]
                msg = "unknown parameter (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
                lines.append(f"{format_loc(loc)}: {msg}")
            return lines
    return []


# ----------------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------------
def parse_plan(
    text: str,
    source: str = "<string>",
    *,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    registry: "ActionRegistry | None" = None,
) -> LoadedPlan:
    overrides = dict(overrides or {})
    env = {**_builtin_env(), **(os.environ if env is None else env)}
    raw = load_yaml(text, source)
    if not isinstance(raw, dict):
        raise ConfigError(source, [f"(top level): expected a mapping with plan: and steps:, got {type(raw).__name__}"])
    bad = [k for k in raw if not isinstance(k, str)]
    if bad:
        raise ConfigError(source, [f"(top level): keys must be strings, got {bad[0]!r}"])

    # Variables: the plan's defaults (expanded against the environment), then --var.
    declared = raw.get("vars") or {}
    if not isinstance(declared, dict):
        raise ConfigError(source, ["vars: expected a mapping of name: default value"])
    env_only = _Expander({}, env)
    profile_vars, profile_problems = _profile_values(raw, declared, overrides, env_only)
    # Declared variables may use one another; a profile's values and --var overrides feed them.
    plan_vars = _PlanVars(declared, {**profile_vars, **overrides}, env)
    variables = {str(k): plan_vars[str(k)] for k in declared}
    variables.update(profile_vars)
    variables.update(overrides)
    register_secrets_in(variables)  # a secret-looking variable's value never reaches a report in clear
    expander = _Expander(variables, env)
    if "profile" in overrides:
        expander.used.add("profile")
    expanded = {k: (expander.tree(v, [k]) if k not in ("vars", "profiles") else raw[k] if k == "profiles" else variables)
                for k, v in raw.items()}
    problems = profile_problems + env_only.problems + plan_vars.expander.problems + expander.problems

    traps = _yaml_boolean_traps(expanded)
    problems += traps
    try:
        plan = Plan.model_validate(expanded)
    except ValidationError as exc:
        said = {line.split(":", 1)[0] for line in traps}
        raise ConfigError(source, problems + [p for p in format_validation_error(exc) if p.split(":", 1)[0] not in said]) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError(source, problems + [f"(top level): {exc}"]) from None
    problems += _check_graph(plan)
    if registry is not None:
        problems += _check_actions(plan, registry)
    unused = sorted(k for k in overrides if k not in expander.used and k not in declared)
    if unused:
        problems.append(f"--var {unused[0]}: the plan uses no variable {unused[0]!r}"
                        + (f" (its variables: {', '.join(declared)})" if declared else ""))
    if problems:
        raise ConfigError(source, problems)
    return LoadedPlan(plan=plan, text=text, source=source, variables=variables, overrides=overrides)


def load_plan(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    registry: "ActionRegistry | None" = None,
) -> LoadedPlan:
    text = read_text_bounded(path)  # regular files up to 4 MiB; ConfigError otherwise
    return parse_plan(text, str(path), overrides=overrides, env=env, registry=registry)


__all__ = ["LoadedPlan", "load_plan", "parse_plan", "parse_var", "parse_vars", "waves", "ancestors",
           "runtime_refs", "is_runtime_ref", "check_params"]
