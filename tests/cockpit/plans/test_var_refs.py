"""A plan variable may refer to another declared variable; cycles are named, not looped on."""

from __future__ import annotations

import pytest

from cockpit.errors import ConfigError
from cockpit.plans import parse_plan

STEPS = "steps:\n  - {id: a, sleep: 0}\n"


def test_a_variable_refers_to_another_in_any_order():
    loaded = parse_plan("plan: p\nvars:\n  out: '${base}/out'\n  base: /tmp/x\n  n: '${count}'\n  count: 3\n" + STEPS,
                        env={})
    assert loaded.variables["out"] == "/tmp/x/out" and loaded.variables["n"] == 3


def test_override_feeds_the_variables_that_use_it():
    loaded = parse_plan("plan: p\nvars:\n  base: /tmp/x\n  out: '${base}/out'\n" + STEPS, env={},
                        overrides={"base": "/data"})
    assert loaded.variables["out"] == "/data/out"


def test_cycle_is_a_named_problem():
    with pytest.raises(ConfigError) as info:
        parse_plan("plan: p\nvars:\n  a: '${b}'\n  b: 'x${a}'\n" + STEPS, env={})
    assert any("refers to itself (a -> b -> a)" in p for p in info.value.problems), info.value.problems


def test_long_chain_is_refused_without_recursion_error():
    chain = "".join(f"  v{i}: '${{v{i + 1}}}'\n" for i in range(3000)) + "  v3000: end\n"
    with pytest.raises(ConfigError) as info:
        parse_plan("plan: p\nvars:\n" + chain + STEPS, env={})
    assert any("variables deep" in p for p in info.value.problems)


@pytest.mark.parametrize("value, words", [("[" * 100_000, "nested deeper"), ("9" * 5000, "5000 digits")])
def test_hostile_var_values_are_named_errors(value, words):
    from cockpit.plans.loader import parse_vars

    with pytest.raises(ConfigError) as info:
        parse_vars([f"x={value}"])
    assert info.value.problems[0].startswith("--var x:") and words in info.value.problems[0]


def test_a_profile_value_feeds_the_variables_that_use_it():
    text = ("plan: p\nvars:\n  base: /tmp/x\n  out: '${base}/out'\nprofiles:\n  lab: {base: /lab}\n" + STEPS)
    loaded = parse_plan(text, env={}, overrides={"profile": "lab"})
    assert loaded.variables["base"] == "/lab" and loaded.variables["out"] == "/lab/out"
