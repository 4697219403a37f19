"""`cockpit replay`: the dashboard over a recording, stepped, played and jumped; actions refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.actions import ActionRefused
from cockpit.config import load_config
from cockpit.recorder import Recording
from cockpit.replay import replay_runtime
from cockpit.snapshot import Snapshot, Status
from screens.replay import JumpScreen, ReplayApp

from .conftest import VMS

SIZE = (160, 48)
T0 = 1_800_000_000.0


def vms_at(step: int) -> Snapshot:
    """Step 0: three VMs; step 1: the controller shut off; step 2: the worker gone."""
    vms = list(VMS)
    if step >= 1:
        vms[0] = vms[0].model_copy(update={"state": "shutoff"})
    if step >= 2:
        vms = vms[:2]
    from datetime import datetime, timezone

    return Snapshot(source="vms", status=Status.OK, fetched_at=datetime.fromtimestamp(T0 + step, timezone.utc),
                    items={v.key(): v for v in vms})


@pytest.fixture()
def stepper(tmp_path: Path):
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path) as rec:
        for step in range(3):
            rec.record({"vms": vms_at(step), "slurm": Snapshot.unconfigured("slurm", "set cockpit.slurm")}, T0 + step)
    rec = Recording.open(path)
    yield rec.stepper()
    rec.close()


def states(app: ReplayApp) -> list[str]:
    table = app.dashboard.pane("vms").table("vms")
    return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


async def test_step_jump_and_play_show_the_recorded_moments(stepper, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    runtime, controller = replay_runtime(load_config(None), stepper)
    app = ReplayApp(runtime, controller)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(10):  # the first frame on a loaded machine
            await pilot.pause(0.2)
            if app.dashboard.pane("vms").table("vms").row_count:
                break
        assert "1/3" in app.sub_title and "[read-only]" in app.sub_title
        assert app.dashboard.pane("vms").table("vms").row_count == 3
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        assert "2/3" in app.sub_title
        assert runtime.hub["vms"].snapshot.items["ws/u1"].state == "shutoff"
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        assert app.dashboard.pane("vms").table("vms").row_count == 2
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause(0.2)
        assert "1/3" in app.sub_title and app.dashboard.pane("vms").table("vms").row_count == 3
        await pilot.press("g")
        await pilot.pause(0.05)
        assert isinstance(app.screen, JumpScreen)
        await pilot.press(*"-1s", "enter")
        await pilot.pause(0.2)
        assert "2/3" in app.sub_title
        await pilot.press("p")  # plays on to the end (1 s of recorded time) and stops there
        await pilot.pause(1.5)
        assert "3/3" in app.sub_title and "paused" in app.sub_title
        # the slurm pane says what the recording said: not configured
        assert not runtime.hub["slurm"].configured


async def test_actions_are_refused_in_replay(stepper, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    runtime, _controller = replay_runtime(load_config(None), stepper)
    assert runtime.read_only
    with pytest.raises(ActionRefused):
        await runtime.invoke("vm.start", {"name": "hpc-controller"})


async def test_data_age_counts_from_the_recorded_moment(tmp_path: Path, monkeypatch) -> None:
    """What replay shows at T is what the live screen showed at T: the vms data fetched at T0 is
    "2m ago" at T0+120 s (when only the gpus source changed), whatever the wall clock says."""
    from datetime import datetime, timezone

    from textual.widgets import Static

    from screens.status import status_line

    from .conftest import GPUS

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "ages.sqlite"
    vms = vms_at(0)

    def gpus(t: float) -> Snapshot:
        return Snapshot(source="gpus", status=Status.OK, fetched_at=datetime.fromtimestamp(t, timezone.utc),
                        items={g.key(): g for g in GPUS[: 1 if t > T0 else 2]})

    with Recording.create_or_append(path) as rec:
        rec.record({"vms": vms, "gpus": gpus(T0)}, T0)
        rec.record({"gpus": gpus(T0 + 120)}, T0 + 120)
    live_at_t = status_line(vms, now=datetime.fromtimestamp(T0 + 120, timezone.utc))
    assert live_at_t == "ok, 3 items, updated 2m ago"
    with Recording.open(path) as rec:
        runtime, controller = replay_runtime(load_config(None), rec.stepper())
        app = ReplayApp(runtime, controller)
        async with app.run_test(size=SIZE) as pilot:
            status = app.dashboard.query_one("#status-vms", Static)
            for _ in range(10):
                await pilot.pause(0.2)
                if "updated" in str(status.render()):
                    break
            assert "updated just now" in str(status.render())  # moment 1: fetched at T0, shown at T0
            await pilot.press("right_square_bracket")
            await pilot.pause(0.2)
            assert "2/2" in app.sub_title
            assert str(status.render()) == f"vms: {live_at_t}"
