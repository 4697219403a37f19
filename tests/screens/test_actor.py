"""Every screen acts as the app's actor: an SSH viewer stays a viewer on plan and detail screens."""

from __future__ import annotations

import asyncio

from cockpit.actions import Actor
from cockpit.runtime import build_runtime
from screens.app import CockpitApp

VIEWER = Actor(name="phone", via="ssh", role="viewer", key_fingerprint="SHA256:viewer")

PLAN = """
plan: viewer-tries
steps:
  - {id: power_off, action: vm.force_off, params: {name: hpc-controller}}
"""


async def test_a_viewer_running_a_plan_from_the_screen_is_refused_and_audited(demo_loaded, tmp_path):
    from screens.plan_view import PlanScreen

    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    runtime = build_runtime(demo_loaded, audit_path=tmp_path / "audit.jsonl")
    app = CockpitApp(runtime, actor=VIEWER)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        screen = PlanScreen(runtime, plan, report_dir=tmp_path / "report")
        app.push_screen(screen)
        await pilot.pause(0.3)
        screen.action_run_plan()
        async with asyncio.timeout(30):
            while screen.runner is None or not screen.runner.finished.is_set():
                await pilot.pause(0.1)
        assert screen.runner.verdict == "failed"
    state = runtime.adapter("vms").host().run(lambda c: c.lookupByName("hpc-controller").state()[0])
    assert state == 1  # still running
    refused = [r for r in runtime.audit.records() if r["event"] == "action.refused"]
    assert refused and refused[0]["actor"] == {"name": "phone", "via": "plan", "role": "viewer",
                                               "key_fingerprint": "SHA256:viewer"}
