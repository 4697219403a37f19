"""`audit_log: /dev/full`: the screen says why actions are refused and stays up for monitoring."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from cockpit.runtime import build_runtime
from screens.app import CockpitApp
from screens.modals import ConfirmScreen

from .test_dashboard import SIZE, settle


async def test_confirmed_action_with_unwritable_audit_is_refused_and_the_screen_stays_up(demo_loaded):
    runtime = build_runtime(demo_loaded, audit_path=Path("/dev/full"))
    app = CockpitApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, 10)
        await pilot.press("colon", *"vm.shutdown name=hpc-controller", "enter")
        # The interaction seam's worker waits for the answer: wait for the modal, not the worker.
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, ConfirmScreen):
                break
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert app.is_running and app.screen is app.dashboard
        message = str(app.dashboard.query_one("#message", Static).render())
        assert "/dev/full" in message and "was not run" in message
        state = runtime.adapter("vms").host().run(lambda c: c.lookupByName("hpc-controller").state()[0])
        assert state == 1  # still running: nothing was done
