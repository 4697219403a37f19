"""Plan loading: variables, path-named errors, DAG checks, the schema; hypothesis fuzzing."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.errors import ConfigError
from cockpit.plans import parse_plan, plan_json_schema
from cockpit.plans.loader import parse_vars, waves


def problems(text: str, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_plan(text, "p.yaml", **kwargs)
    return info.value.problems


def test_variables_from_vars_overrides_and_environment():
    text = """
plan: vars
vars: {gpus: 1, name: "mnist-${USER_SUFFIX:-x}"}
steps:
  - {id: a, action: test.echo, params: {g: "${gpus}", n: "${name}", uri: "${TRACKING}/api", lit: "$${gpus}"}}
"""
    loaded = parse_plan(text, env={"TRACKING": "http://mlflow:5000"}, overrides={"gpus": 2})
    params = loaded.plan.steps[0].params
    assert params == {"g": 2, "n": "mnist-x", "uri": "http://mlflow:5000/api", "lit": "$${gpus}"}
    assert loaded.variables["gpus"] == 2


def test_unset_variable_is_an_error_naming_the_path():
    out = problems("plan: x\nsteps:\n  - {id: a, action: test.echo, params: {v: '${NOPE_NOT_SET}'}}\n", env={})
    assert out == ["steps[0] -> params -> v: ${NOPE_NOT_SET} is not set (declare it under vars:, pass --var NOPE_NOT_SET=..., or set it in the environment)"]


def test_unknown_var_override_is_an_error():
    out = problems("plan: x\nvars: {a: 1}\nsteps:\n  - {id: s, sleep: 0}\n", overrides={"typo": 1})
    assert out == ["--var typo: the plan uses no variable 'typo' (its variables: a)"]


def test_parse_vars_reads_json_values():
    assert parse_vars(["n=2", "flag=true", "name=mnist", "list=[1,2]"]) == {"n": 2, "flag": True, "name": "mnist", "list": [1, 2]}
    with pytest.raises(ConfigError) as info:
        parse_vars(["novalue", "1x=2"])
    assert len(info.value.problems) == 2


@pytest.mark.parametrize("steps, expected", [
    ("  - {id: a, sleep: 0}\n  - {id: a, sleep: 0}\n", "steps[1] -> id: duplicate id 'a' (first used by steps[0])"),
    ("  - {id: a, sleep: 0, needs: [b]}\n", "steps[0] -> needs[0]: unknown step 'b' (steps: a)"),
    ("  - {id: a, sleep: 0, needs: [b]}\n  - {id: b, sleep: 0, needs: [a]}\n", "steps: `needs` form a cycle: a -> b -> a"),
    ("  - {id: a, sleep: 0}\n  - {id: b, action: t.x, params: {j: '${steps.a.id}'}}\n",
     "steps[1] -> params -> j: ${steps.a.id} uses step 'a', which this step does not need (add 'a' to needs so it has run first)"),
    ("  - {id: a, sleep: 0, needs: [c]}\n  - {id: c, sleep: 0, cleanup: true}\n",
     "steps[0] -> needs[0]: 'c' is a cleanup step, which runs last; only another cleanup step may need it"),
    ("  - {id: a, sleep: 0, action: t.x}\n", "steps[0]: Value error, a step does exactly one of action, wait, assert, sleep (got action, sleep)"),
    ("  - {id: a, sleep: soon}\n", "steps[0] -> sleep: Value error, 'soon' is not a duration (use 30, '30s', '500ms', '5m' or '1h')"),
    ("  - {id: a, wait: {vm: {name: x}, job: {id: 1}}}\n", "steps[0] -> wait: Value error, give exactly one of snapshot, vm, job, pod, inference_service, metric, url, value, monitoring (got vm, job)"),
    ("  - {id: a, assert: {snapshot: {source: slurm, field: state, gt: 1, lt: 2}}}\n",
     "steps[0] -> assert[0] -> snapshot: Value error, give one comparison, not 2 (gt, lt)"),
    ("  - {id: a, assert: {metric: {run: r, name: loss, lt: low}}}\n",
     "steps[0] -> assert[0] -> metric -> lt: Value error, expected a number or ${steps.<id>.<output>}, got 'low'"),
    ("  - {id: a, sleep: 1, retry: {attempts: 0}}\n", "steps[0] -> retry -> attempts: Input should be greater than or equal to 1"),
    ("  - {id: a, sleep: 1, color: red}\n", "steps[0] -> color: unknown field (check the spelling)"),
    ("  - {id: a, assert: {url: {url: 'ftp://x'}}}\n", "steps[0] -> assert[0] -> url -> url: Value error, must start with http:// or https://"),
    ("  - {id: a, action: t.x, params: {v: '${run.nope}'}}\n", "steps[0] -> params -> v: ${run.nope}: unknown (known: run.id, run.report_dir, run.plan)"),
])
def test_invalid_plans_name_the_path(steps, expected):
    assert expected in problems("plan: bad\nsteps:\n" + steps)


def test_yaml_booleans_as_step_ids_are_explained():
    out = problems("plan: x\nsteps:\n  - {id: off, sleep: 0}\n  - {id: b, sleep: 0, needs: off}\n")
    assert out == ["steps[0] -> id: YAML read this as false (off/on/no/yes are booleans in YAML): quote it, e.g. id: 'off'",
                   "steps[1] -> needs: YAML read this as false: quote the step id"]


def test_all_problems_at_once():
    out = problems("plan: bad\nsteps:\n  - {id: a, sleep: x}\n  - {id: b, sleep: 1, needs: [zz]}\n")
    assert len(out) == 1 and out[0].startswith("steps[0] -> sleep")  # schema first, graph after
    out = problems("plan: bad\nsteps:\n  - {id: a, sleep: 1, needs: [y]}\n  - {id: b, sleep: 1, needs: [zz]}\n")
    assert len(out) == 2


def test_yaml_errors_name_the_line():
    out = problems("plan: x\nsteps:\n  - {id: a, sleep: 1\n")
    assert out[0].startswith("line 4, column 1: YAML syntax error")


def test_action_names_and_params_checked_against_the_registry():
    from cockpit.ops import default_registry

    text = """
plan: acts
steps:
  - {id: a, action: vm.start, params: {name: x, colour: blue}}
  - {id: b, action: vm.start, params: {}}
  - {id: c, action: slurm.submitt, params: {template: mnist}}
  - {id: d, needs: a, action: vm.shutdown, params: {name: "${steps.a.vm}"}}
"""
    out = problems(text, registry=default_registry())
    assert "steps[0] -> params -> colour: unknown parameter (check the spelling; known: name, host)" in out
    assert "steps[1] -> params -> name: Field required" in out
    assert "steps[2] -> action: unknown action 'slurm.submitt'" in out
    assert any(p.startswith("(actions known to this build:") and "vm.start" in p for p in out)
    assert not any(p.startswith("steps[3]") for p in out), "params filled in at run time are not checked early"


def test_waves_put_cleanup_last():
    loaded = parse_plan("""
plan: w
steps:
  - {id: c1, cleanup: true, sleep: 0}
  - {id: a, sleep: 0}
  - {id: b, sleep: 0, needs: a}
  - {id: c2, cleanup: true, sleep: 0, needs: [c1, a]}
""")
    assert waves(loaded.plan) == [["a"], ["b"], ["c1"], ["c2"]]


def test_schema_exports_and_describes_steps():
    schema = plan_json_schema()
    json.dumps(schema)
    assert schema["title"] == "AI-HOW Cockpit plan"
    step = schema["$defs"]["Step"]["properties"]
    assert {"id", "needs", "action", "params", "wait", "assert", "sleep", "cleanup", "retry", "timeout"} <= set(step)


# -- hypothesis: whatever the file holds, the loader answers with a plan or a ConfigError ------
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
                    st.sampled_from(["${x}", "${steps.a.b}", "$$", "${", "30s", "-1", "a", "vm.start", "${run.id}"]))
trees = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=8), st.integers(), st.sampled_from(
        ["id", "needs", "action", "params", "wait", "assert", "sleep", "cleanup", "retry", "timeout", "vm", "job",
         "metric", "url", "value", "snapshot", "source", "field", "equals", "gt", "name"])), children, max_size=5)),
    max_leaves=25)
step_like = st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "c", "d", "1", ""])}, optional={
    "needs": st.one_of(st.lists(st.sampled_from(["a", "b", "c", "x"]), max_size=3), trees),
    "sleep": st.one_of(st.sampled_from([0, "1s", "x", -1]), trees),
    "action": st.sampled_from(["test.echo", "vm.start", "Bad Name", "x.y"]),
    "params": trees, "wait": trees, "assert": trees, "cleanup": st.booleans(), "retry": trees, "timeout": trees})
plans = st.fixed_dictionaries({"plan": st.one_of(st.just("p"), trees)}, optional={
    "steps": st.one_of(st.lists(step_like, max_size=5), trees), "vars": trees, "defaults": trees,
    "max_parallel": trees, "fail_fast": trees})


def _check(text: str) -> None:
    try:
        loaded = parse_plan(text, "fuzz.yaml", env={})
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    ids = [s.id for s in loaded.plan.steps]
    assert sorted(sum(waves(loaded.plan), [])) == sorted(ids)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans)
def test_generated_plans_never_crash_the_loader(doc):
    _check(yaml.safe_dump(doc))


@settings(max_examples=150, deadline=None)
@given(trees)
def test_generated_documents_never_crash_the_loader(doc):
    _check(yaml.safe_dump(doc))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_generated_text_never_crashes_the_loader(text):
    _check(text)
