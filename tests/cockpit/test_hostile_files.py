"""Hostile configs and plans through the real `cockpit` command: exit 2, a message naming the file
and the rule, no traceback, in bounded time."""

from __future__ import annotations

import os
import time

import pytest

from tests.cockpit.test_cli import cockpit
from tests.cockpit.test_yamltext import alias_bomb


def assert_refused(run, path, rule: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and "Error:" not in run.stderr.split("\n")[0]
    assert str(path) in run.stderr and rule in run.stderr, run.stderr


@pytest.mark.parametrize("text,rule", [
    (alias_bomb(), "aliases are expanded"),
    ("global: &a {self: *a}\n", "recursive"),
    ("cockpit: {}\nclusters: {}\ncockpit: {theme: x}\n", "duplicate key 'cockpit'"),
])
def test_config_validate_refuses_hostile_yaml(tmp_path, text, rule):
    path = tmp_path / "cockpit.yaml"
    path.write_text(text)
    started = time.monotonic()
    run = cockpit("config", "validate", str(path), timeout=60)
    assert time.monotonic() - started < 30
    assert_refused(run, path, rule)


def test_fifo_config_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "cockpit.yaml"
    os.mkfifo(fifo)
    run = cockpit("--config", str(fifo), "snapshot", "--format", "json", timeout=60)
    assert_refused(run, fifo, "FIFO")


def test_alias_bomb_in_plan_vars_is_refused(tmp_path):
    bomb = alias_bomb().replace("\n", "\n  ")
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"plan: bomb\nvars:\n  {bomb}\nsteps:\n  - id: a\n    action: vm.start\n    params: {{name: x}}\n")
    started = time.monotonic()
    run = cockpit("plan", "validate", str(plan), timeout=60)
    assert time.monotonic() - started < 30
    assert_refused(run, plan, "aliases are expanded")
