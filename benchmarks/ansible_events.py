"""Provisioning source throughput: fold synthetic ansible-runner events for a large run
(hosts x tasks) and build the snapshot the hub publishes. Prints figures; asserts nothing.

    python -m benchmarks.ansible_events [hosts] [tasks]
"""

from __future__ import annotations

import sys
import time

from backends.ansible.events import RunState


def events(hosts: int, tasks: int):
    counter = 0
    for t in range(tasks):
        counter += 1
        yield {"event": "playbook_on_task_start", "counter": counter,
               "event_data": {"task": f"task {t}", "task_uuid": f"u{t}", "play": "p", "task_action": "copy"}}
        for h in range(hosts):
            data = {"task": f"task {t}", "task_uuid": f"u{t}", "host": f"host-{h:03d}", "play": "p"}
            counter += 1
            yield {"event": "runner_on_start", "counter": counter, "event_data": data}
            counter += 1
            yield {"event": "runner_on_ok", "counter": counter,
                   "event_data": {**data, "duration": 0.1, "res": {"changed": (h + t) % 3 == 0}}}


def main() -> None:
    hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    all_events = list(events(hosts, tasks))
    state = RunState("bench", "site.yml", "inv.yml")
    t0 = time.perf_counter()
    for event in all_events:
        state.apply(event)
    fold = time.perf_counter() - t0
    t0 = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        rows = state.rows()
        state.host_recap()
        state.info()
    snap = (time.perf_counter() - t0) / rounds
    print(f"{hosts} hosts x {tasks} tasks: {len(all_events)} events folded in {fold * 1000:.0f} ms "
          f"({len(all_events) / fold:,.0f} events/s); snapshot of {len(rows)} cells built in {snap * 1000:.1f} ms "
          f"(pushed at most every 0.1 s while a run goes)")


if __name__ == "__main__":
    main()
