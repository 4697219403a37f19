"""The live screen records (`:record FILE`, `--record FILE`): REC in the title while it does, the
file is the recorder's format and replay reads back what the screen showed; refused over SSH."""

from __future__ import annotations

from pathlib import Path

from cockpit.actions import Actor
from cockpit.config import load_config
from cockpit.recorder import Recording
from cockpit.replay import replay_runtime
from screens.app import CockpitApp
from screens.messages import MessageArea

from .conftest import VMS

SIZE = (160, 48)


def message(app: CockpitApp) -> str:
    return app.dashboard.query_one("#message", MessageArea).text


async def wait_for(pilot, condition, tries: int = 40) -> None:
    for _ in range(tries):  # a loaded machine: the file opens in a worker thread
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition not reached")


async def test_record_command_shows_rec_and_replay_reads_what_was_shown(fixed_runtime, tmp_path: Path,
                                                                        monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    out = tmp_path / "screen.sqlite"
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dashboard.pane("vms").table("vms").row_count == 3)
        assert "REC" not in app.sub_title
        app.run_command(f"record {out}")
        await wait_for(pilot, lambda: "REC" in app.sub_title)
        assert "● REC screen.sqlite" in app.sub_title and str(out) in message(app)
        app.run_command("record other.sqlite")  # one recording at a time
        await pilot.pause(0.1)
        assert "already recording" in message(app) and not (tmp_path / "other.sqlite").exists()
        fixed_runtime.hub["vms"].refresh()  # a publish while recording is written too
        await pilot.pause(0.3)
        app.run_command("record stop")
        await wait_for(pilot, lambda: "REC" not in app.sub_title)
        assert "recording stopped" in message(app)
        shown = dict(fixed_runtime.hub["vms"].snapshot.items)
    with Recording.open(out) as rec:
        span = rec.span()
        assert span is not None
        recorded = rec.snapshots_at(span[1])
        assert dict(recorded["vms"].items) == shown == {v.key(): v for v in VMS}
        assert recorded["slurm"].status.value == "unconfigured"
        runtime, _controller = replay_runtime(load_config(None), rec.stepper())
        assert dict(runtime.hub["vms"].snapshot.items) == shown


async def test_record_flag_records_from_the_start(fixed_runtime, tmp_path: Path) -> None:
    out = tmp_path / "flag.sqlite"
    app = CockpitApp(fixed_runtime, record_to=out)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "REC" in app.sub_title)
        await wait_for(pilot, lambda: app.recorder.frames > 0)
    # quitting stops the recording: the file is closed and readable
    with Recording.open(out) as rec:
        assert rec.span() is not None
        assert "gpus" in rec.snapshots_at(rec.span()[1])


async def test_record_refuses_a_file_that_is_not_a_recording(fixed_runtime, tmp_path: Path) -> None:
    out = tmp_path / "notes.sqlite"
    out.write_text("my notes, not a recording\n")
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        app.run_command(f"record {out}")
        await wait_for(pilot, lambda: "record:" in message(app))
        assert str(out) in message(app) and "not a cockpit recording" in message(app)
        assert "REC" not in app.sub_title and not app.recorder.active
        app.run_command("record stop")
        await pilot.pause(0.05)
        assert "not recording" in message(app)
    assert out.read_text() == "my notes, not a recording\n"


async def test_ssh_viewers_cannot_record(fixed_runtime, tmp_path: Path) -> None:
    out = tmp_path / "remote.sqlite"
    viewer = Actor(name="alice", via="ssh", role="operator")
    app = CockpitApp(fixed_runtime, actor=viewer)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        app.run_command(f"record {out}")
        await wait_for(pilot, lambda: "record:" in message(app))
        assert "not over SSH" in message(app) and "REC" not in app.sub_title
    assert not out.exists()


async def test_a_recording_that_cannot_write_says_so(fixed_runtime, tmp_path: Path) -> None:
    out = tmp_path / "full.sqlite"
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        app.run_command(f"record {out}")
        await wait_for(pilot, lambda: "REC" in app.sub_title)
        await wait_for(pilot, lambda: app.recorder.frames > 0)

        def full(*_args, **_kwargs):
            raise OSError(28, "No space left on device")

        app.recorder._recording.record = full  # the disk fills up under the recording
        fixed_runtime.hub["vms"].refresh()
        await wait_for(pilot, lambda: app.recorder.error is not None)
        app._tick_status()
        assert "No space left on device" in message(app) and str(out) in message(app)
        assert "REC" in app.sub_title  # it goes on trying until stopped
