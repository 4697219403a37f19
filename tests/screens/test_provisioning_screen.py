"""The provisioning screen fed with events recorded from a real ansible-runner run of
tests/fixtures/ansible/project/events.yml (hosts: good, broken = a failing task, gone = ssh to a
closed port), replayed one by one through the real ProvisioningSource and Collector."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Static

from backends.ansible.events import RunState, replay
from backends.ansible.runner import PlaybookRunner, RunHandle
from backends.ansible.source import ProvisioningSource
from cockpit.hub import Collector, Timing
from screens.provisioning_run import ProvisioningRunScreen
from screens.render.provisioning import COLUMNS, detail, grid, run_line

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ansible"
EVENTS = [json.loads(line) for line in (FIXTURES / "events_recorded.jsonl").read_text().splitlines()]


def _source(tmp_path: Path) -> tuple[ProvisioningSource, Collector]:
    source = ProvisioningSource(lambda cb: PlaybookRunner(tmp_path, FIXTURES / "project", on_change=cb))
    collector = Collector(source, Timing(interval=60, min_interval=0))
    source.bind(collector.push)
    return source, collector


def test_render_helpers_on_the_recorded_run():
    state = replay("r1", EVENTS, "events.yml")
    state.finish("failed", 2)
    items = {r.key(): r for r in state.rows()}
    g = grid(items, {"tasks": state.task_list(), "hosts": state.host_recap()})
    assert g.hosts == ["broken", "gone", "good"]
    assert [t["name"] for t in g.tasks][:2] == ["Say hello", "Write a marker file"]
    assert g.symbol("broken", 4) == ("✗", "bold red") and g.symbol("gone", 0) == ("!", "bold magenta")
    assert g.symbol("good", 1)[0] == "●" and g.symbol("gone", 3) == (" ", "")
    assert {r.host for r in g.failures()} == {"broken", "gone"}
    line = run_line(state.info())
    assert line.startswith("events.yml: failed rc=2 · 3 hosts · 6 tasks") and "unreachable=1" in line
    failed = next(r for r in state.rows() if r.status == "failed")
    assert "disk quota exceeded on broken" in detail(failed)
    changed = next(r for r in state.rows() if r.host == "good" and r.status == "changed")
    assert "+marker good" in detail(changed)
    assert [c.cell(failed) for c in COLUMNS][:4] == ["broken", "4", "Fail on purpose", "failed"]
    assert run_line(None).startswith("no provisioning run yet")


async def test_grid_fills_live_and_shows_the_failing_output(tmp_path):
    source, collector = _source(tmp_path)
    loop = asyncio.get_running_loop()
    state = RunState("r1", "events.yml", "inv.yml")
    source.runner.runs["r1"] = RunHandle(state=state, done=loop.create_future())

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(ProvisioningRunScreen(None, collector=collector))

    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        table = screen.query_one("#grid", DataTable)
        seen_rows = []
        for event in EVENTS:
            state.apply(event)
            source._flush()
            await pilot.pause()
            seen_rows.append(table.row_count)
        state.finish("failed", 2)
        source._flush()
        await pilot.pause()
        assert seen_rows[0] == 0 and seen_rows[-1] == 3  # the grid grew while events came in
        assert len(table.columns) == 1 + 6
        row = table.get_row("broken")
        assert str(row[0]) == "broken" and str(row[5]).strip() == "✗"
        assert str(table.get_row("gone")[1]).strip() == "!"
        output = str(screen.query_one("#output", Static).render())
        # the first failure in playbook order: gone could not be reached at task 1
        assert output.startswith("gone / Say hello: unreachable") and "Connection refused" in output
        assert "traceback unavailable" not in output
        assert "failed rc=2" in str(screen.query_one("#run", Static).render())
        # moving the cursor shows that cell's output: good's marker file diff
        table.move_cursor(row=2, column=2)
        await pilot.pause()
        assert "+marker good" in str(screen.query_one("#output", Static).render())
        table.move_cursor(row=0, column=5)
        await pilot.pause()
        output = str(screen.query_one("#output", Static).render())
        assert "broken / Fail on purpose: failed" in output and "disk quota exceeded on broken" in output
        await pilot.press("f")
        assert "Connection refused" in str(screen.query_one("#output", Static).render())
