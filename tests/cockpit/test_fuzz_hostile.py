"""Fuzzing the cockpit's inputs (config, plans, action parameters) with hypothesis: whatever comes
in, the answer is a value or a path-named error (ConfigError / InvalidParams, exit 2), never a
traceback, never longer than 10 s, never more than a bounded amount of memory.

Inputs are built from YAML's own hostile pieces (anchors, aliases, deep flow nesting, huge
numbers, `${` references, duplicate keys, tags) glued onto valid config and plan skeletons, so
the fuzzer reaches the validators and not only the YAML scanner. Kept to ~40 s of CI time.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.actions import ActionError, Dispatcher
from cockpit.config import parse_config
from cockpit.errors import ConfigError
from cockpit.ops import default_registry
from cockpit.params import TextParams
from cockpit.plans import parse_plan

TIME_LIMIT_S = 10.0
MEMORY_LIMIT = 64 * 1024 * 1024
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True, database=None)

PIECES = [
    "&a ", "*a", "&b ", "*b", "[", "]", "{", "}", ", ", ": ", "- ", "\n", "\n  ", "\n    ", "'", '"', "#",
    "${", "${HOME}", "${NOPE:-x}", "$${", "}", "!!python/object:os.system ", "!!binary ", "!!int ", "<<: *a",
    "9" * 50, "1e309", "-.inf", ".nan", "true", "null", "~", "0x1F", "1_000", "0o17", "2024-01-01", "\t", "\x00",
    "cockpit", "clusters", "keymap", "theme", "audit_log", "refresh", "interval", "slurm", "hpc", "compute_nodes",
    "plan", "steps", "vars", "id", "action", "params", "needs", "assert", "wait", "sleep", "cleanup", "job_id",
    "vm.start", "slurm.cancel", "name", "x" * 30, "é", "\u202e", "\ufeff",
]
yaml_soup = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)

CONFIG_HEADS = ["", "cockpit:\n  ", "cockpit:\n  keymap:\n    ", "cockpit:\n  refresh:\n    slurm: ",
                "clusters:\n  hpc:\n    name: h\n    compute_nodes:\n      - ", "global: &a "]
PLAN_HEADS = ["plan: p\nsteps:\n  - id: a\n    ", "plan: p\nvars:\n  ", "plan: p\nsteps:\n  - ",
              "plan: p\nsteps:\n  - id: a\n    action: slurm.cancel\n    params: {job_id: ", ""]


def bounded(fn, *args, **kwargs):
    """Run fn; only ConfigError may escape; time and memory checked."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        fn(*args, **kwargs)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < TIME_LIMIT_S, f"took {elapsed:.1f} s"
    assert peak < MEMORY_LIMIT, f"peak {peak / 1e6:.0f} MB"


@FUZZ
@given(head=st.sampled_from(CONFIG_HEADS), body=yaml_soup)
def test_config_text_never_crashes_hangs_or_balloons(head, body):
    bounded(parse_config, head + body, "fuzz.yaml", env={})


@FUZZ
@given(head=st.sampled_from(PLAN_HEADS), body=yaml_soup)
def test_plan_text_never_crashes_hangs_or_balloons(head, body, registry):
    bounded(parse_plan, head + body, "fuzz-plan.yaml", env={}, registry=registry)


@pytest.fixture(scope="module")
def registry():
    return default_registry()


values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["true", "false", "1e0", "1.0", "-1", "0", "99999999999999999999", "9" * 5000, "[]", "{}",
                     '{"a": [1, 2]}', "[" * 3000, "null", "NaN", "Infinity", "0x10", " 7 ", "７", "٣"]),
    st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
)
ACTIONS = ["slurm.cancel", "slurm.submit", "slurm.drain", "vm.start", "vm.define", "vm.undefine", "ansible.run",
           "kube.job.create", "mlflow.runs", "nope.action"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(name=st.sampled_from(ACTIONS), params=st.dictionaries(
    st.sampled_from(["job_id", "name", "node", "reason", "nodes", "gpus", "env", "token", "memory_mib", "vcpus",
                     "playbook", "extravars", "secret_vars", "time", "host", "x"]), values, max_size=5),
    as_text=st.booleans())
def test_action_parameters_give_a_value_or_a_named_error(name, params, as_text, registry):
    if as_text:
        params = TextParams({k: v if isinstance(v, str) else str(v) for k, v in params.items()})
    dispatcher = Dispatcher(registry, audit=None, runtime=None)  # type: ignore[arg-type]
    started = time.monotonic()
    try:
        prepared = dispatcher.prepare(name, params)
    except ActionError as exc:
        assert str(exc)
    else:
        job_id = getattr(prepared.params, "job_id", None)
        if job_id is not None:  # never a boolean or a decimal turned into an id
            assert type(job_id) is int and 1 <= job_id < 2**63
    assert time.monotonic() - started < TIME_LIMIT_S


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(items=st.lists(st.one_of(st.text(max_size=30), values.map(str).map(lambda v: f"x={v}"),
                                yaml_soup.map(lambda v: f"name={v}")), max_size=4))
def test_plan_var_arguments_give_values_or_named_errors(items):
    from cockpit.plans.loader import parse_vars

    bounded(parse_vars, items)
