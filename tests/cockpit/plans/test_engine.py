"""The plan engine: DAG order and concurrency, retries, timeouts, outputs, cleanup, interrupts."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from cockpit.plans.state import EventLog, RunState


def events(runner) -> list[dict]:
    return list(EventLog.read(runner.events_path))


async def test_independent_steps_run_concurrently_and_needs_orders_them(run, journal):
    runner = await run("""
plan: dag
steps:
  - {id: a, action: test.sleep, params: {seconds: 0.4, label: a}}
  - {id: b, action: test.sleep, params: {seconds: 0.4, label: b}}
  - {id: c, needs: [a, b], action: test.sleep, params: {seconds: 0.05, label: c}}
""")
    assert runner.verdict == "passed"
    (a0, a1), (b0, b1), (c0, _) = journal.spans["a"], journal.spans["b"], journal.spans["c"]
    assert a0 < b1 and b0 < a1, "a and b should overlap"
    assert abs(a0 - b0) < 0.2
    assert c0 >= max(a1, b1), "c started before what it needs ended"


async def test_max_parallel_one_serialises(run, journal):
    runner = await run("""
plan: serial
max_parallel: 1
steps:
  - {id: a, action: test.sleep, params: {seconds: 0.15, label: a}}
  - {id: b, action: test.sleep, params: {seconds: 0.15, label: b}}
""")
    assert runner.verdict == "passed"
    (a0, a1), (b0, b1) = journal.spans["a"], journal.spans["b"]
    assert a1 <= b0 or b1 <= a0


async def test_retries_with_backoff_then_pass(run, journal):
    started = time.monotonic()
    runner = await run("""
plan: retry
steps:
  - id: flaky
    action: test.fail_times
    params: {key: k, times: 2}
    retry: {attempts: 3, backoff: 0.1, factor: 2}
""")
    assert runner.verdict == "passed"
    rec = runner.state.steps["flaky"]
    assert [a["ok"] for a in rec["attempts"]] == [False, False, True]
    assert rec["outputs"] == {"calls": 3}
    retries = [e for e in events(runner) if e["event"] == "step.retry"]
    assert [e["delay_s"] for e in retries] == [0.1, 0.2]
    assert "planned failure 1 of 2" in retries[0]["error"]
    assert time.monotonic() - started >= 0.3


async def test_retries_exhausted_fail_and_skip_dependents_but_not_independent_steps(run, journal):
    runner = await run("""
plan: retry-fail
defaults: {retry: {attempts: 2, backoff: 0.01}}
steps:
  - {id: bad, action: test.fail_times, params: {key: k, times: 5}}
  - {id: after, needs: bad, action: test.noop}
  - {id: other, action: test.echo, params: {value: 1}}
""")
    assert runner.verdict == "failed"
    st = runner.state.steps
    assert st["bad"]["status"] == "failed" and len(st["bad"]["attempts"]) == 2
    assert "planned failure 2 of 5" in st["bad"]["error"]
    assert st["after"]["status"] == "skipped" and "needs bad" in st["after"]["reason"]
    assert st["other"]["status"] == "passed"
    assert ("test.noop", "", ) not in [(c[0], c[1]) for c in journal.calls]


async def test_timeout_cancels_a_slow_action(run, runtime):
    started = time.monotonic()
    runner = await run("""
plan: slow
steps:
  - {id: slow, action: test.sleep, params: {seconds: 30, label: slow}, timeout: 300ms}
""")
    assert time.monotonic() - started < 5
    rec = runner.state.steps["slow"]
    assert rec["status"] == "failed" and rec["error"] == "timed out after 0.3 s"
    audit = [r for r in runtime.audit.records() if r["event"] == "action.end"]
    assert audit[-1]["ok"] is False and audit[-1]["error"] == "cancelled"


async def test_outputs_flow_to_later_steps_with_their_type(run, journal):
    runner = await run("""
plan: outputs
vars: {n: 41}
steps:
  - {id: first, action: test.echo, params: {value: "${n}"}}
  - id: second
    needs: first
    action: test.echo
    params: {value: "id-${steps.first.value}-${run.plan}"}
  - id: check
    needs: [first, second]
    assert:
      - value: {value: "${steps.first.value}", gt: 40}
      - value: {value: "${steps.second.value}", equals: "id-41-outputs"}
""")
    assert runner.verdict == "passed", runner.state.steps
    assert runner.state.steps["first"]["outputs"] == {"value": 41}
    assert ("test.echo", "41") in [(c[0], c[1]) for c in journal.calls]


async def test_missing_output_fails_the_step_with_its_name(run):
    runner = await run("""
plan: missing
steps:
  - {id: first, action: test.echo, params: {value: 1}}
  - {id: second, needs: first, action: test.echo, params: {value: "${steps.first.nope}"}}
""")
    rec = runner.state.steps["second"]
    assert rec["status"] == "failed"
    assert "steps[1] -> params -> value" in rec["error"] and "no output 'nope'" in rec["error"] and "value" in rec["error"]


async def test_assert_failure_names_the_values(run):
    runner = await run("""
plan: assert
steps:
  - {id: one, action: test.echo, params: {value: 700}}
  - id: fast_enough
    needs: one
    assert: {value: {value: "${steps.one.value}", ge: 1000}, message: BeeGFS write below 1 GB/s}
""")
    rec = runner.state.steps["fast_enough"]
    assert rec["status"] == "failed"
    assert "BeeGFS write below 1 GB/s" in rec["error"] and "700" in rec["error"] and ">= 1000" in rec["error"]


async def test_cleanup_runs_after_failure_and_skips_what_never_ran(run, journal):
    runner = await run("""
plan: cleanup
steps:
  - {id: setup, action: test.echo, params: {value: made}}
  - {id: boom, needs: setup, action: test.fail_times, params: {key: x, times: 9}}
  - {id: never, needs: boom, action: test.echo, params: {value: never}}
  - {id: teardown, cleanup: true, needs: setup, action: test.echo, params: {value: "undo ${steps.setup.value}"}}
  - {id: undo_never, cleanup: true, needs: never, action: test.echo, params: {value: undo-never}}
  - {id: last, cleanup: true, needs: teardown, action: test.echo, params: {value: last}}
""")
    st = runner.state.steps
    assert runner.verdict == "failed"
    assert st["teardown"]["status"] == "passed" and st["teardown"]["outputs"] == {"value": "undo made"}
    assert st["undo_never"]["status"] == "skipped" and "never ran" in st["undo_never"]["reason"]
    assert st["last"]["status"] == "passed"
    labels = [c[1] for c in journal.calls if c[0] == "test.echo"]
    assert labels.index("undo made") < labels.index("last")
    assert "never" not in labels


async def test_cleanup_passed_undoes_only_what_this_run_made(run, journal):
    runner = await run("""
plan: owned
steps:
  - {id: create, action: test.fail_times, params: {key: exists, times: 9}}
  - {id: created, action: test.echo, params: {value: mine}}
  - {id: delete_failed, cleanup: passed, needs: create, action: test.echo, params: {value: delete-theirs}}
  - {id: delete_mine, cleanup: passed, needs: created, action: test.echo, params: {value: delete-mine}}
""")
    st = runner.state.steps
    assert st["delete_failed"]["status"] == "skipped" and "cleanup only after success" in st["delete_failed"]["reason"]
    assert st["delete_mine"]["status"] == "passed"
    labels = [c[1] for c in journal.calls if c[0] == "test.echo"]
    assert "delete-theirs" not in labels and "delete-mine" in labels


async def test_fail_fast_stops_starting_steps(run, journal):
    runner = await run("""
plan: ff
fail_fast: true
max_parallel: 1
steps:
  - {id: bad, action: test.fail_times, params: {key: k, times: 1}}
  - {id: later, action: test.echo, params: {value: later}}
  - {id: clean, cleanup: true, action: test.echo, params: {value: clean}}
""")
    st = runner.state.steps
    assert st["later"]["status"] == "skipped" and "fail_fast" in st["later"]["reason"]
    assert st["clean"]["status"] == "passed"


async def test_cancel_interrupts_running_steps_and_still_cleans_up(runtime, tmp_path, journal):
    from cockpit.plans import PlanRunner, parse_plan

    loaded = parse_plan("""
plan: interrupt
steps:
  - {id: long, action: test.sleep, params: {seconds: 30, label: long}}
  - {id: after, needs: long, action: test.noop}
  - {id: clean, cleanup: true, action: test.echo, params: {value: clean}}
""", "t.yaml", registry=runtime.registry)
    runner = PlanRunner(loaded, runtime, report_dir=tmp_path / "r")
    task = asyncio.create_task(runner.run())
    while runner.state.steps["long"]["status"] != "running":
        await asyncio.sleep(0.01)
    runner.cancel()
    verdict = await asyncio.wait_for(task, 5)
    st = runner.state.steps
    assert verdict == "interrupted"
    assert st["long"]["status"] == "interrupted"
    assert st["after"]["status"] == "pending"
    assert st["clean"]["status"] == "passed"
    saved = RunState.load(tmp_path / "r" / "state.json")
    assert saved.verdict == "interrupted" and saved.steps["long"]["status"] == "interrupted"
    junit = (tmp_path / "r" / "junit.xml").read_text()
    assert 'name="long"' in junit and "Interrupted" in junit


async def test_read_only_runtime_refuses_change_actions_and_audits_it(make_rt, tmp_path, run):
    from cockpit.plans.engine import refused_in_read_only
    from cockpit.plans import parse_plan

    rt = make_rt(read_only=True)
    text = "plan: ro\nsteps:\n  - {id: a, action: test.noop}\n  - {id: b, action: test.change, params: {value: 1}}\n"
    loaded = parse_plan(text, "ro.yaml", registry=rt.registry)
    assert refused_in_read_only(loaded, rt) == ["steps[1] -> action: test.change (change) is refused in read-only mode"]
    runner = await run(text, runtime=rt)  # even when run anyway, the dispatcher refuses
    assert runner.state.steps["b"]["status"] == "failed" and "read-only" in runner.state.steps["b"]["error"]
    assert len(runner.state.steps["b"]["attempts"]) == 1  # a refusal is not retried
    refused = [r for r in rt.audit.records() if r["event"] == "action.refused"]
    assert refused and refused[0]["actor"]["via"] == "plan"


async def test_secrets_stay_out_of_events_and_reports_but_reach_later_steps(run, journal):
    runner = await run("""
plan: secret
vars: {api_token: s3cr3t-value}
steps:
  - {id: login, action: test.echo, params: {value: {token: "${api_token}"}}}
  - {id: use, needs: login, action: test.echo, params: {value: {password: "${steps.login.value.token}"}}}
""", overrides={"api_token": "s3cr3t-value"})
    # Redaction is by key name (token, password, secret, ...), as in the audit log.
    assert runner.verdict == "passed"
    assert any(c[0] == "test.echo" and "s3cr3t-value" in c[1] and "password" in c[1] for c in journal.calls)
    for name in ("events.jsonl", "junit.xml", "summary.md"):
        assert "s3cr3t-value" not in (runner.report_dir / name).read_text(), name


async def test_events_and_state_agree(run):
    runner = await run("""
plan: ev
steps:
  - {id: a, action: test.noop}
  - {id: b, needs: a, sleep: 10ms}
""")
    evs = events(runner)
    seqs = [e["seq"] for e in evs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [e["event"] for e in evs][0] == "plan.start" and evs[-1]["event"] == "plan.end"
    state = json.loads(Path(runner.state_path).read_text())
    assert state["verdict"] == "passed" and state["last_event"]["seq"] == evs[-1]["seq"]
    summary = (runner.report_dir / "summary.md").read_text()
    assert "| a | ✅ passed | 1 |" in summary
