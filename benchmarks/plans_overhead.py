"""Engine overhead per step: a 200-step plan of no-op steps.

    python benchmarks/plans_overhead.py [--steps 200] [--repeat 3]

Four shapes: a chain (each step needs the previous one) and a wide plan (all independent,
max_parallel 8), each with `sleep: 0` steps (scheduler + durable state + event stream) and with
a no-op action through the dispatcher (adds the audit log's two fsync'd records). Every step
transition rewrites the state file atomically with fsync, so the figures include real disk
syncs: they are what a `kill -9`-safe run costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel  # noqa: E402

from cockpit.actions import ActionRegistry, Danger  # noqa: E402
from cockpit.audit import AuditLog  # noqa: E402
from cockpit.hub import Hub  # noqa: E402


class Empty(BaseModel):
    pass


def registry() -> ActionRegistry:
    reg = ActionRegistry()

    @reg.action("bench.noop", Empty, Danger.READ, title="No-op")
    async def noop(ctx, p):  # type: ignore[no-untyped-def]
        return {"ok": True}

    return reg


def plan_text(steps: int, *, chain: bool, action: bool) -> str:
    lines = ["plan: overhead", "max_parallel: 8", "steps:"]
    for i in range(steps):
        body = "action: bench.noop" if action else "sleep: 0"
        needs = f", needs: [s{i - 1}]" if chain and i else ""
        lines.append(f"  - {{id: s{i}, {body}{needs}}}")
    return "\n".join(lines) + "\n"


async def one_run(steps: int, chain: bool, action: bool, workdir: Path) -> tuple[float, float]:
    from cockpit.config import load_config
    from cockpit.plans import PlanRunner, parse_plan
    from cockpit.runtime import CockpitRuntime

    reg = registry()
    runtime = CockpitRuntime(loaded=load_config(), hub=Hub([]), registry=reg, audit=AuditLog(workdir / "audit.jsonl"))
    t0 = time.perf_counter()
    loaded = parse_plan(plan_text(steps, chain=chain, action=action), "bench.yaml", registry=reg)
    t1 = time.perf_counter()
    runner = PlanRunner(loaded, runtime, report_dir=workdir / "report")
    verdict = await runner.run()
    t2 = time.perf_counter()
    assert verdict == "passed", verdict
    return t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-fsync", action="store_true",
                        help="replace fsync by a no-op: the engine's CPU cost alone (not a safe mode)")
    args = parser.parse_args()
    if args.no_fsync:
        os.fsync = lambda fd: None  # type: ignore[assignment]
    print(f"plan engine overhead, {args.steps} no-op steps, median of {args.repeat} runs "
          f"({os.cpu_count()} CPUs, " + ("fsync disabled" if args.no_fsync else f"state/events/audit fsync'd on {tempfile.gettempdir()}") + ")")
    for chain in (True, False):
        for action in (False, True):
            loads, runs = [], []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    load_s, run_s = asyncio.run(one_run(args.steps, chain, action, Path(tmp)))
                loads.append(load_s)
                runs.append(run_s)
            run_s = statistics.median(runs)
            shape = "chain" if chain else "wide "
            kind = "noop action" if action else "sleep: 0   "
            print(f"  {shape} {kind}: load {statistics.median(loads) * 1000:7.1f} ms, run {run_s * 1000:8.1f} ms, "
                  f"{run_s / args.steps * 1000:6.2f} ms/step")


if __name__ == "__main__":
    main()
