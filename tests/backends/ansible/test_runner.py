"""PlaybookRunner on a small real playbook: per-host task states, failure messages,
unreachable hosts, cancel, start errors and artifact rotation."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
import yaml

from backends.ansible.runner import PlaybookRunner, RunError

PROJECT = Path(__file__).resolve().parents[2] / "fixtures" / "ansible" / "project"


def _inventory(tmp: Path, **hosts_extra) -> Path:
    hosts = {
        "good": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "broken": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "must_fail": True},
        # Nothing listens on port 1: ssh fails at once, the host is unreachable.
        "gone": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_user": "nobody",
                 "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3"},
    }
    for name, extra in hosts_extra.items():
        hosts.setdefault(name, {}).update(extra)
    path = tmp / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": {"marker_dir": str(tmp / "markers")}}}))
    (tmp / "markers").mkdir(exist_ok=True)
    return path


@pytest.fixture
def runner(tmp_path: Path) -> PlaybookRunner:
    return PlaybookRunner(tmp_path / "pdd", PROJECT, keep=3)


async def test_states_messages_and_unreachable(runner, tmp_path):
    state = await runner.wait((await runner.start("events.yml", _inventory(tmp_path))).run_id, timeout=120)
    assert state.status == "failed" and state.rc not in (0, None)
    cell = {(r.host, r.task): r for r in state.rows()}
    assert cell[("good", "Say hello")].status == "ok"
    assert cell[("good", "Write a marker file")].status == "changed"
    assert cell[("good", "Only on hosts that want it")].status == "skipped"
    assert cell[("good", "After the failure")].status == "ok"
    failed = cell[("broken", "Fail on purpose")]
    assert failed.status == "failed"
    assert "disk quota exceeded on broken" in failed.message and "rc=3" in failed.message
    assert ("broken", "After the failure") not in cell  # a failed host stops
    gone = cell[("gone", "Say hello")]
    assert gone.status == "unreachable"
    assert "port 1" in gone.message and "refused" in gone.message.lower()
    assert state.stats["gone"]["unreachable"] == 1 and state.stats["broken"]["failed"] == 1
    assert [t["name"] for t in state.task_list()][:2] == ["Say hello", "Write a marker file"]
    assert {r.host for r in state.failures()} == {"broken", "gone"}
    assert (tmp_path / "markers" / "good.txt").read_text() == "marker good\n"


async def test_cancel_stops_a_running_playbook(runner, tmp_path):
    inventory = _inventory(tmp_path)
    changes = []
    runner.on_change = lambda s: changes.append(s.status)
    handle = await runner.start("events.yml", inventory, limit="good", extravars={"slow": 60})
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rows = [r for r in handle.state.rows() if r.task == "Sleep when asked"]
        if rows and rows[0].status == "running":
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the sleep task never started")
    started = time.monotonic()
    runner.cancel(handle.run_id)
    state = await runner.wait(handle.run_id, timeout=30)
    assert time.monotonic() - started < 15
    assert state.status == "canceled"
    sleep_row = next(r for r in state.rows() if r.task == "Sleep when asked")
    assert sleep_row.status == "canceled" and "canceled" in sleep_row.message
    assert "running" in changes and changes[-1] == "canceled"


async def test_start_errors_name_the_problem(runner, tmp_path):
    with pytest.raises(RunError, match="playbook 'nope.yml' not found.*events.yml"):
        await runner.start("nope.yml", _inventory(tmp_path))
    with pytest.raises(RunError, match="inventory .*missing.yml does not exist"):
        await runner.start("events.yml", tmp_path / "missing.yml")
    with pytest.raises(RunError, match="no provisioning run yet"):
        runner.get()


async def test_a_playbook_that_cannot_parse_reports_why(runner, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("- hosts: all\n  tasks:\n    - name: x\n      no.such.module: {}\n")
    state = await runner.wait((await runner.start(str(bad), _inventory(tmp_path))).run_id, timeout=60)
    assert state.status == "failed"
    assert state.error and "no.such.module" in state.error


def test_rotation_keeps_the_newest_and_never_a_running_run(tmp_path):
    runner = PlaybookRunner(tmp_path, PROJECT, keep=2)
    runs = tmp_path / "runs"
    for i in range(5):
        (runs / f"run{i}").mkdir(parents=True)
        os.utime(runs / f"run{i}", (1000 + i, 1000 + i))
    from backends.ansible.events import RunState
    from backends.ansible.runner import RunHandle

    loop = asyncio.new_event_loop()
    try:
        runner.runs["run0"] = RunHandle(state=RunState("run0", "p", "i"), done=loop.create_future())  # still running
        removed = runner.rotate()
    finally:
        loop.close()
    assert sorted(p.name for p in removed) == ["run1", "run2", "run3"]
    assert sorted(p.name for p in runs.iterdir()) == ["run0", "run4"]
