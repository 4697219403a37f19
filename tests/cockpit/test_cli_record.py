"""`cockpit record`, `cockpit snapshot --at TIME FILE`, `cockpit replay FILE` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.oneshot import dumps
from cockpit.recorder import Recording
from tests.cockpit.test_recorder import T0, queue_at


@pytest.fixture()
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path) as rec:
        for step in range(10):
            rec.record({"slurm": queue_at(step)}, T0.timestamp() + 5 * step)
    return path


def test_snapshot_at_prints_the_recorded_state(recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", "--at", "2026-11-29T12:00:22Z", str(recording)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(dumps({"slurm": queue_at(4)}))
    # relative times count back from the recording's end
    assert main(["snapshot", "--at", "-10s", str(recording)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(dumps({"slurm": queue_at(7)}))
    assert main(["snapshot", "--at", "-0s", str(recording), "--format", "table"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("recorded at 2026-11-29T12:00:45+00:00")
    assert "== slurm: ok, 40 items, updated just now" in text and "RUNNING" in text
    # the data's age counts from the recorded moment, not from when the command runs
    with Recording.open(recording) as rec:
        rec_end = rec.span()[1]
    with Recording.create_or_append(recording) as rec:
        rec.record({"gpus": queue_at(0).evolve(source="gpus", items={})}, rec_end + 120)
    assert main(["snapshot", "--at", "-0s", str(recording), "--format", "table"]) == 0
    assert "== slurm: ok, 40 items, updated 2m ago" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["snapshot", "--at", "-1m"], "go together"),
    (["snapshot", "--at", "yesterday", "{rec}"], "time 'yesterday'"),
    (["snapshot", "--at", "2020-01-01", "{rec}"], "nothing recorded at or before 2020-01-01"),
    (["snapshot", "--at", "-1m", "{junk}"], "junk.sqlite: not a cockpit recording"),
    (["replay", "{junk}"], "junk.sqlite: not a cockpit recording"),
    (["record", "--out", "{junk}", "--for", "1s"], "junk.sqlite: not a cockpit recording"),
    (["record", "--max-size", "lots"], "size 'lots'"),
    (["record", "--window", "2 weeks"], "duration '2 weeks'"),
    (["record", "--out", "{junk}/r.sqlite", "--for", "1s"], "cannot write the recording"),
])
def test_bad_input_exits_2_naming_it(argv: list[str], message: str, recording: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database, just text\n" * 50)
    before = junk.read_bytes()
    argv = [a.format(rec=recording, junk=junk) for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert junk.read_bytes() == before  # nothing half-done to a foreign file


@pytest.mark.parametrize("argv, message", [
    (["--record", "{out}"], "only in a terminal"),
    (["--record", "{out}", "--run", "plan.yaml"], "a plan run records on its own"),
])
def test_record_flag_needs_the_screen(argv: list[str], message: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "screen.sqlite"
    assert main([a.format(out=out) for a in argv]) == 2  # pytest's stdin is not a terminal
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_record_polls_the_default_config_into_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.sqlite"
    assert main(["record", "--out", str(out), "--for", "3s", "--sources", "vms,gpus"]) == 0
    assert "stopped:" in capsys.readouterr().err
    with Recording.open(out) as rec:
        span = rec.span()
        assert span is not None
        snaps = rec.snapshots_at(span[1])
    assert set(snaps) == {"vms", "gpus"}
    assert snaps["vms"].fetched_at is not None and len(snaps["vms"].items) == 5  # the demo host's VMs


def test_a_failed_plan_run_leaves_a_recording_of_what_it_saw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "f.yaml"
    plan.write_text("""
plan: fails
steps:
  - id: controller_is_off
    assert: {vm: {name: hpc-controller, state: shutoff}}
""")
    report = tmp_path / "r"
    assert main(["--run", str(plan), "--report-dir", str(report)]) == 1
    assert f"recording: {report / 'recording.sqlite'}" in capsys.readouterr().out
    with Recording.open(report / "recording.sqlite") as rec:
        span = rec.span()
        assert span is not None
        vms = rec.snapshots_at(span[1])["vms"]
    # the state the failing assert saw: the controller running
    assert {vm.name: vm.state for vm in vms.items.values()}["hpc-controller"] == "running"
