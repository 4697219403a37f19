"""`cockpit --run`: exit codes, nothing run on invalid input, and resume after a real kill -9 of
`python -m cockpit --run ...` (and after SIGINT)."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cockpit.cli import main
from cockpit.plans.state import EventLog, RunState

REPO = Path(__file__).resolve().parents[3]

KILL_PLAN = """
plan: killme
vars: {url: "http://127.0.0.1:1/", vm: cloud-gpu-worker-01}
steps:
  - {id: start, action: vm.start, params: {name: "${vm}"}}
  - {id: nap, needs: start, sleep: 100ms}
  - id: gate
    needs: nap
    wait: {url: {url: "${url}", status: 200}, interval: 100ms}
    timeout: 120s
  - {id: after, needs: gate, sleep: 50ms}
  - {id: power_off, cleanup: true, needs: start, action: vm.force_off, params: {name: "${vm}"}}
"""


@pytest.fixture
def gate_server():
    """A real HTTP server answering 503 until `open` is set."""

    class Gate:
        open = False

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if Gate.open else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Gate.url = f"http://127.0.0.1:{server.server_address[1]}/ready"
    yield Gate
    server.shutdown()
    server.server_close()


def cockpit(*args: str, **kwargs: Any) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "cockpit", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for_state(path: Path, predicate, timeout: float = 60.0) -> RunState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                state = RunState.load(path)
            except Exception:
                state = None
            if state is not None and predicate(state):
                return state
        time.sleep(0.05)
    raise AssertionError(f"state never reached the expected point: {path.read_text() if path.exists() else 'no file'}")


def audit_records(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "xdg_state_home" / "cockpit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def starts(events: list[dict[str, Any]], step: str) -> int:
    return sum(1 for e in events if e["event"] == "step.start" and e.get("step") == step)


@pytest.mark.slow
def test_resume_after_kill_9_repeats_no_finished_step_and_loses_no_record(tmp_path, gate_server):
    plan = tmp_path / "kill.yaml"
    plan.write_text(KILL_PLAN)
    report = tmp_path / "report"
    proc = cockpit("--run", str(plan), "--report-dir", str(report), "--var", f"url={gate_server.url}")
    try:
        state = wait_for_state(report / "state.json", lambda s: s.steps["gate"]["status"] == "running")
        time.sleep(0.3)  # let the wait poll a few times
        proc.kill()  # SIGKILL: no handler, no cleanup, no final write
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    state = RunState.load(report / "state.json")
    assert state.verdict is None and state.steps["start"]["status"] == "passed"
    assert state.steps["nap"]["status"] == "passed" and state.steps["gate"]["status"] == "running"

    gate_server.open = True
    done = cockpit("--run", str(plan), "--resume", str(report / "state.json"))
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, out + err

    final = RunState.load(report / "state.json")
    assert final.verdict == "passed" and len(final.resumes) == 1
    assert {sid: r["status"] for sid, r in final.steps.items()} == dict.fromkeys(final.steps, "passed")
    gate_attempts = final.steps["gate"]["attempts"]
    assert gate_attempts[0]["error"].startswith("lost:") and gate_attempts[-1]["ok"] is True

    events = list(EventLog.read(report / "events.jsonl"))
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "every event once, in order, none lost"
    assert [e["event"] for e in events].count("plan.start") == 1
    assert [e["event"] for e in events].count("plan.resume") == 1
    assert starts(events, "start") == 1 and starts(events, "nap") == 1, "finished steps are not repeated"
    assert starts(events, "gate") == 2 and any(e["event"] == "step.lost" and e["step"] == "gate" for e in events)
    vm_starts = [r for r in audit_records(tmp_path) if r["event"] == "action.start" and r["action"] == "vm.start"]
    assert len(vm_starts) == 1, "the finished action ran once"
    junit = (report / "junit.xml").read_text()
    assert junit.count("<testcase") == 5 and 'failures="0"' in junit
    assert "resumed: 1 time(s)" in (report / "summary.md").read_text()


@pytest.mark.slow
def test_sigint_interrupts_runs_cleanup_exits_3_and_resumes(tmp_path, gate_server):
    plan = tmp_path / "int.yaml"
    plan.write_text(KILL_PLAN)
    report = tmp_path / "report"
    proc = cockpit("--run", str(plan), "--report-dir", str(report), "--var", f"url={gate_server.url}")
    wait_for_state(report / "state.json", lambda s: s.steps["gate"]["status"] == "running")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    state = RunState.load(report / "state.json")
    assert state.verdict == "interrupted"
    assert state.steps["gate"]["status"] == "interrupted" and state.steps["after"]["status"] == "pending"
    assert state.steps["power_off"]["status"] == "passed", "cleanup ran on SIGINT"
    assert "resume with: cockpit --run" in out

    gate_server.open = True
    again = cockpit("plan", "resume", str(report / "state.json"))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    final = RunState.load(report / "state.json")
    assert final.steps["after"]["status"] == "passed" and final.steps["gate"]["status"] == "passed"
    events = list(EventLog.read(report / "events.jsonl"))
    assert starts(events, "start") == 1 and starts(events, "power_off") == 2


def test_event_log_repair_restores_the_last_event_and_cuts_a_torn_line(tmp_path):
    log_path = tmp_path / "events.jsonl"
    log = EventLog(log_path)
    log.append({"seq": 1, "event": "plan.start"})
    log.close()
    with open(log_path, "a") as fh:
        fh.write('{"seq": 2, "event": "step.st')  # killed mid-write
    assert EventLog.repair(log_path, {"seq": 2, "event": "step.start", "step": "a"}) == 1
    assert [e["seq"] for e in EventLog.read(log_path)] == [1, 2]
    assert EventLog.repair(log_path, {"seq": 2, "event": "step.start"}) == 0


def test_invalid_plan_exits_2_names_paths_and_runs_nothing(tmp_path, capsys):
    plan = tmp_path / "bad.yaml"
    plan.write_text("""
plan: bad
steps:
  - {id: start, action: vm.start, params: {name: cloud-gpu-worker-01}}
  - {id: wait, needs: [strat], wait: {vm: {name: cloud-gpu-worker-01}}}
  - {id: submit, action: slurm.submitt, params: {template: mnist}}
""")
    report = tmp_path / "report"
    rc = main(["--run", str(plan), "--report-dir", str(report)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "steps[1] -> needs[0]: unknown step 'strat'" in err
    assert not report.exists() and audit_records(tmp_path) == []


def test_read_only_plan_with_change_actions_exits_2_before_running(tmp_path, capsys):
    plan = tmp_path / "ro.yaml"
    plan.write_text("plan: ro\nsteps:\n  - {id: a, sleep: 0}\n  - {id: b, action: vm.start, params: {name: hpc-controller}}\n")
    rc = main(["--read-only", "--run", str(plan), "--report-dir", str(tmp_path / "r")])
    assert rc == 2
    assert "steps[1] -> action: vm.start (change) is refused in read-only mode" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_invalid_config_exits_2(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("cockpit:\n  refresh:\n    vms: {interval: -1}\n")
    plan = tmp_path / "p.yaml"
    plan.write_text("plan: p\nsteps:\n  - {id: a, sleep: 0}\n")
    assert main(["--config", str(cfg), "--run", str(plan), "--report-dir", str(tmp_path / "r")]) == 2
    assert "cockpit -> refresh -> vms -> interval" in capsys.readouterr().err


def test_dry_run_shows_order_and_confirmations_and_runs_nothing(tmp_path, capsys):
    plan = tmp_path / "kill.yaml"
    plan.write_text(KILL_PLAN)
    assert main(["--run", str(plan), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "wave 1: start" in out and "wave 5 (cleanup, always runs): power_off" in out
    assert "Start VM cloud-gpu-worker-01" in out and "nothing was executed" in out
    assert audit_records(tmp_path) == []


def test_failed_step_exits_1_with_reports(tmp_path, capsys):
    plan = tmp_path / "f.yaml"
    plan.write_text("""
plan: fails
steps:
  - {id: ok, sleep: 0}
  - id: no_such_vm_running
    assert: {vm: {name: hpc-controller, state: shutoff}}
""")
    report = tmp_path / "r"
    assert main(["--run", str(plan), "--report-dir", str(report)]) == 1
    assert "state is 'running'" in (report / "summary.md").read_text()
    assert 'failures="1"' in (report / "junit.xml").read_text()


def test_plan_validate_and_schema_commands(tmp_path, capsys):
    plan = tmp_path / "v.yaml"
    plan.write_text("plan: v\nsteps:\n  - {id: a, action: slurm.frobnicate, params: {template: mnist}}\n")
    assert main(["plan", "validate", str(plan)]) == 2
    assert "steps[0] -> action: unknown action 'slurm.frobnicate'" in capsys.readouterr().err
    known = tmp_path / "k.yaml"
    known.write_text("plan: k\nsteps:\n  - {id: a, action: slurm.submit, params: {template: mnist}}\n")
    assert main(["plan", "validate", str(known)]) == 2
    assert "steps[0] -> params -> template: Value error, unknown template 'mnist'" in capsys.readouterr().err
    assert main(["plan", "validate", "--no-action-check", str(plan)]) == 0
    assert "valid (plan v: 1 steps in 1 waves)" in capsys.readouterr().out
    assert main(["plan", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "AI-HOW Cockpit plan"
