"""Pictures of the dashboard, help, palette and a confirmation at 80x24, 100x30 and 200x55
(pytest-textual-snapshot; update with --snapshot-update after a deliberate change, and look at
the report before committing the new pictures)."""

from __future__ import annotations

import pytest

from screens.app import CockpitApp

from .conftest import static_runtime

SIZES = [(80, 24), (100, 30), (200, 55)]


async def settle(pilot, times: int = 5):
    for _ in range(times):
        await pilot.pause(0.05)


def keys_for(view: str) -> list[str]:
    return {
        "dashboard": [],
        "help": ["question_mark"],
        "palette": ["ctrl+p", *"vm.s"],
        "confirm": ["colon", *"mlflow.delete_run run_id=4f2a9c0d1e7b4c3aa1b2c3d4e5f60718", "enter"],
    }[view]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["dashboard", "help", "palette", "confirm"])
def test_picture(snap_compare, tmp_path, demo_loaded, view, size):
    app = CockpitApp(static_runtime(tmp_path, demo_loaded))

    async def run_before(pilot):
        await settle(pilot)
        for key in keys_for(view):
            await pilot.press(key)
        await settle(pilot, 8)
        # A blinking cursor would make the picture depend on the moment it is taken.
        from textual.widgets import Input

        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        await settle(pilot, 2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
