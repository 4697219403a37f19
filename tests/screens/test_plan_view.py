"""The plan screen: open a plan, watch the DAG and step states, run and cancel it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from textual.app import App

from cockpit.actions import ActionRegistry, Danger
from cockpit.audit import AuditLog
from cockpit.hub import Hub


class Sleep(BaseModel):
    seconds: float


def runtime_with_test_actions(demo_loaded: Any, tmp_path: Path) -> Any:
    from cockpit.runtime import CockpitRuntime

    registry = ActionRegistry()

    @registry.action("test.sleep", Sleep, Danger.READ, title="Sleep")
    async def sleep(ctx: Any, p: Sleep) -> dict[str, Any]:
        await asyncio.sleep(p.seconds)
        return {"slept": p.seconds}

    return CockpitRuntime(loaded=demo_loaded, hub=Hub([]), registry=registry, audit=AuditLog(tmp_path / "audit.jsonl"))


class Host(App):
    def __init__(self, screen: Any) -> None:
        super().__init__()
        self.plan_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.plan_screen)


PLAN = """
plan: screen
steps:
  - {id: a, action: test.sleep, params: {seconds: 0.05}}
  - {id: b, action: test.sleep, params: {seconds: SECONDS}, needs: a}
  - {id: c, sleep: 10ms, needs: b}
  - {id: clean, cleanup: true, sleep: 0}
"""


async def wait_until(pilot: Any, predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


async def test_open_run_and_watch_states(demo_loaded, tmp_path):
    from screens.plan_view import PlanScreen

    plan = tmp_path / "screen.yaml"
    plan.write_text(PLAN.replace("SECONDS", "0.05"))
    screen = PlanScreen(runtime_with_test_actions(demo_loaded, tmp_path), plan, report_dir=tmp_path / "r")
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        dag = str(screen.query_one("#dag").render())
        assert "wave 1" in dag and "· a" in dag and "b ← a" in dag and "cleanup 4" in dag
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.runner is not None and screen.runner.finished.is_set())
        assert screen.status == {"a": "passed", "b": "passed", "c": "passed", "clean": "passed"}
        table = screen.query_one("#steps")
        assert str(table.get_cell("c", "status")) == "passed"
        assert "✓ c" in str(screen.query_one("#dag").render())
        assert "passed - reports in" in str(screen.query_one("#banner").render())
    assert (tmp_path / "r" / "junit.xml").exists()


async def test_cancel_interrupts_and_cleans_up(demo_loaded, tmp_path):
    from screens.plan_view import PlanScreen

    plan = tmp_path / "screen.yaml"
    plan.write_text(PLAN.replace("SECONDS", "30"))
    screen = PlanScreen(runtime_with_test_actions(demo_loaded, tmp_path), plan, report_dir=tmp_path / "r")
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.status.get("b") == "running")
        assert "▶ b" in str(screen.query_one("#dag").render())
        await pilot.press("c")
        await wait_until(pilot, lambda: screen.runner.finished.is_set())
        assert screen.status["b"] == "interrupted" and screen.status["clean"] == "passed"
        assert screen.status["c"] == "pending"
        assert "interrupted" in str(screen.query_one("#banner").render())


async def test_invalid_plan_shows_the_path_error(demo_loaded, tmp_path):
    from screens.plan_view import PlanScreen

    plan = tmp_path / "bad.yaml"
    plan.write_text("plan: bad\nsteps:\n  - {id: a, sleep: 0, needs: [zz]}\n")
    screen = PlanScreen(runtime_with_test_actions(demo_loaded, tmp_path), plan)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "steps[0] -> needs[0]: unknown step 'zz'" in str(screen.query_one("#banner").render())
        await pilot.press("r")
        assert screen.runner is None
