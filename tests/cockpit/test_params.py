"""Typed action parameters: text stays text unless the model says otherwise; integer fields are
strict whatever the origin (no boolean or decimal becoming job 1), naming the parameter."""

from __future__ import annotations

import pytest

from cockpit.actions import InvalidParams
from cockpit.ops import default_registry
from cockpit.params import TextParams
from tests.cockpit.test_cli import cockpit


@pytest.fixture(scope="module")
def registry():
    return default_registry()


def prepare(registry, name, params):
    from cockpit.actions import Dispatcher

    return Dispatcher(registry, audit=None, runtime=None).prepare(name, params)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["true", "1e0", "1.0", "0x1", " ", "", "1_0"])
def test_text_job_id_that_is_not_digits_is_refused_naming_the_parameter(registry, value):
    with pytest.raises(InvalidParams, match="job_id: must be a whole number"):
        prepare(registry, "slurm.cancel", TextParams(job_id=value))


@pytest.mark.parametrize("value", [True, 1.0, 1e0])
def test_typed_bool_or_float_job_id_is_refused(registry, value):
    # plans and the Python API hand typed values: still no coercion into an id
    with pytest.raises(InvalidParams, match="job_id: must be a whole number"):
        prepare(registry, "slurm.cancel", {"job_id": value})


@pytest.mark.parametrize("value", ["99999999999999999999", 99999999999999999999, "9" * 5000])
def test_out_of_range_ids_are_refused_naming_the_parameter(registry, value):
    with pytest.raises(InvalidParams) as info:
        prepare(registry, "slurm.cancel", TextParams(job_id=value) if isinstance(value, str) else {"job_id": value})
    assert "job_id" in str(info.value) and "out of range" in str(info.value)
    assert "sys.set_int_max_str_digits" not in str(info.value)


def test_digits_are_an_id(registry):
    assert prepare(registry, "slurm.cancel", TextParams(job_id="42")).params.job_id == 42
    assert prepare(registry, "slurm.cancel", {"job_id": "42"}).params.job_id == 42  # a plan's ${...} text


def test_string_parameters_stay_strings(registry):
    # before: every value was read as JSON, so a VM named "true" or "1" could not be named
    assert prepare(registry, "vm.start", TextParams(name="true")).params.name == "true"
    assert prepare(registry, "vm.start", TextParams(name="1")).params.name == "1"


def test_cli_refuses_a_boolean_job_id_with_exit_2_and_no_traceback():
    run = cockpit("action", "run", "slurm.cancel", "job_id=true", "--yes")
    assert run.returncode == 2, run.stderr
    assert "job_id" in run.stderr and "Traceback" not in run.stderr
