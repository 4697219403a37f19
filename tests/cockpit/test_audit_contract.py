"""The audit log is part of the action contract: an unwritable log refuses the action before it
runs; a start left open by a killed process gets an `action.lost` on the next start-up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.actions import ActionRefused, Actor
from cockpit.audit import AuditLog, path_problem
from cockpit.runtime import build_runtime
from tests.cockpit.test_cli import cockpit

OPERATOR = Actor(name="alice", via="test")


def vm_active(runtime, name):
    return runtime.adapter("vms").host().run(lambda c: c.lookupByName(name).isActive())


@pytest.mark.parametrize("path", ["/dev/full", "/dev/null"])
def test_device_audit_paths_are_a_problem(path):
    assert "not a regular file" in path_problem(Path(path))


def test_fifo_audit_log_fails_fast_instead_of_blocking(tmp_path):
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)
    from cockpit.audit import AuditUnavailable

    with pytest.raises(AuditUnavailable):
        AuditLog(fifo).write({"event": "x"})


async def test_unwritable_audit_refuses_the_action_before_it_runs(demo_loaded):
    runtime = build_runtime(demo_loaded, audit_path=Path("/dev/full"), sources=("vms",))
    assert runtime.audit_problem and "/dev/full" in runtime.audit_problem
    assert vm_active(runtime, "hpc-controller")
    with pytest.raises(ActionRefused, match="cannot be written.*was not run"):
        await runtime.dispatcher.invoke("vm.force_off", {"name": "hpc-controller"}, actor=OPERATOR, confirmed=True)
    assert vm_active(runtime, "hpc-controller")  # nothing happened


async def test_viewer_refusal_with_unwritable_audit_is_still_a_refusal(demo_loaded):
    runtime = build_runtime(demo_loaded, audit_path=Path("/dev/full"), sources=("vms",))
    viewer = Actor(name="bob", via="ssh", role="viewer")
    with pytest.raises(ActionRefused):
        await runtime.dispatcher.invoke("vm.force_off", {"name": "hpc-controller"}, actor=viewer, confirmed=True)


def start_record(pid: int, rid: str = "abc123", host: str | None = None) -> str:
    return json.dumps({"event": "action.start", "id": rid, "action": "slurm.submit", "pid": pid,
                       "host": host or socket.gethostname(), "actor": {"name": "a"}, "params": {}}) + "\n"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_recovery_closes_starts_of_dead_processes_only(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text(start_record(dead_pid(), "dead1") + start_record(os.getppid(), "alive1")
                    + start_record(1, "done1") + json.dumps({"event": "action.end", "id": "done1"}) + "\n"
                    + '{"event": "action.start", "id": "torn')  # a write cut by kill -9
    log = AuditLog(path)
    assert log.recover() == ["dead1"]
    lost = [r for r in log.records() if r["event"] == "action.lost"]
    assert [r["id"] for r in lost] == ["dead1"] and lost[0]["action"] == "slurm.submit"
    assert log.recover() == []  # idempotent


def test_kill_9_mid_action_gets_action_lost_on_next_start(tmp_path):
    audit = tmp_path / "audit.jsonl"
    script = (
        "import asyncio, os, signal\n"
        "from pydantic import BaseModel\n"
        "from cockpit.actions import ActionRegistry, Danger, Actor\n"
        "from cockpit.runtime import build_runtime\n"
        f"rt = build_runtime(audit_path=__import__('pathlib').Path({str(audit)!r}), sources=())\n"
        "class P(BaseModel):\n    pass\n"
        "async def die(ctx, p):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "rt.registry.add(__import__('cockpit.actions', fromlist=['Action']).Action('test.die', P, Danger.CHANGE, die))\n"
        "asyncio.run(rt.dispatcher.invoke('test.die', {}, actor=Actor('x'), confirmed=True))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr
    assert [r["event"] for r in AuditLog(audit).records()] == ["action.start"]
    build_runtime(audit_path=audit, sources=())  # the next start-up
    events = [r["event"] for r in AuditLog(audit).records()]
    assert events == ["action.start", "action.lost"]


def test_config_validate_refuses_an_unwritable_audit_log(tmp_path):
    cfg = tmp_path / "cockpit.yaml"
    cfg.write_text("cockpit:\n  audit_log: /dev/full\n")
    run = cockpit("config", "validate", str(cfg))
    assert run.returncode == 2 and "audit_log" in run.stderr and "/dev/full" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
