"""Folding ansible-runner events (recorded from a real run) into a run's state."""

from __future__ import annotations

import json
import random
from pathlib import Path

from backends.ansible.events import RunState, failure_message, render_diff, replay

EVENTS = [json.loads(line) for line in
          (Path(__file__).resolve().parents[2] / "fixtures" / "ansible" / "events_recorded.jsonl").read_text().splitlines()]


def test_replay_of_the_recorded_run():
    state = replay("r", EVENTS)
    status = {(r.host, r.task): r.status for r in state.rows()}
    assert status[("good", "Write a marker file")] == "changed"
    assert status[("broken", "Fail on purpose")] == "failed"
    assert status[("gone", "Say hello")] == "unreachable"
    assert status[("good", "Only on hosts that want it")] == "skipped"
    assert state.stats["good"] == {"ok": 3, "changed": 1, "failed": 0, "skipped": 3, "unreachable": 0,
                                   "ignored": 0, "rescued": 0}
    assert [e["counter"] for e in state.events] == sorted(e["counter"] for e in state.events)


def test_replay_folds_in_counter_order_whatever_the_file_order():
    shuffled = EVENTS[:]
    random.Random(7).shuffle(shuffled)
    assert [r.model_dump() for r in replay("r", shuffled).rows()] == [r.model_dump() for r in replay("r", EVENTS).rows()]


def test_live_recap_counts_cells_until_the_play_recap_arrives():
    state = RunState("r", "p", "i")
    for event in EVENTS:
        if event["event"] == "playbook_on_stats":
            break
        state.apply(event)
    recap = {h["host"]: h for h in state.host_recap()}
    assert recap["good"]["changed"] == 1 and recap["good"]["ok"] == 3 and recap["broken"]["failed"] == 1


def test_finish_turns_running_cells_into_the_final_state():
    state = RunState("r", "p", "i")
    state.apply({"event": "playbook_on_task_start", "counter": 1, "event_data": {"task": "t", "task_uuid": "u"}})
    state.apply({"event": "runner_on_start", "counter": 2, "event_data": {"task": "t", "task_uuid": "u", "host": "h"}})
    assert state.rows()[0].status == "running" and state.info().status == "running"
    state.finish("canceled", 254)
    row = state.rows()[0]
    assert row.status == "canceled" and row.message == "run canceled" and state.info().finished


def test_failure_messages():
    assert failure_message({"msg": "non-zero return code", "stderr": "boom", "rc": 3}) == "boom\nnon-zero return code\nrc=3"
    assert failure_message({"censored": "the output has been hidden due to the fact that 'no_log: true'"}).startswith("the output has been hidden")
    loop = {"msg": "One or more items failed", "results": [{"item": "a", "failed": False},
                                                          {"item": "b", "failed": True, "msg": "no such file"}]}
    assert failure_message(loop) == "One or more items failed\n[b] no such file"
    assert len(failure_message({"msg": "x" * 10000})) <= 4000


def test_diffs():
    text = render_diff({"before": "a\nb\n", "after": "a\nc\n", "before_header": "/etc/x", "after_header": "/etc/x"})
    assert text.splitlines() == ["--- /etc/x", "+++ /etc/x", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    assert render_diff([{"prepared": "+ added line"}]) == "+ added line"
    assert render_diff({"before": {"state": "absent"}, "after": {"state": "directory"}}) == "- {'state': 'absent'}\n+ {'state': 'directory'}"
    assert render_diff(None) == ""
