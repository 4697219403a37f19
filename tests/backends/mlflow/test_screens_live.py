"""The MLflow screens driven with Textual's pilot against the real server (conftest.py)."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.widgets import DataTable, Static

from screens.mlflow_compare import CompareScreen
from screens.mlflow_registry import RegistryScreen
from screens.mlflow_run import RunScreen
from screens.mlflow_runs import RunsScreen


class Host(App[None]):
    def __init__(self, runtime: Any) -> None:
        super().__init__()
        self.runtime = runtime

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.runtime))


def table_rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def settle(pilot, screen_type=None, cond=lambda: True, tries: int = 100) -> None:
    for _ in range(tries):
        await pilot.pause(0.05)
        if (screen_type is None or isinstance(pilot.app.screen, screen_type)) and cond():
            return
    raise AssertionError(f"screen never settled: {pilot.app.screen!r}")


async def test_runs_detail_compare_and_registry(mlflow_runtime, logged) -> None:
    await mlflow_runtime.hub["mlflow"].fetch_once()
    app = Host(mlflow_runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot, RunsScreen)
        screen = app.screen
        table = screen.query_one(DataTable)
        titles = [str(c.label) for c in table.columns.values()]
        assert titles[-3:] == ["LOSS", "ACCURACY", "LINKS"]
        rows = {r[1]: r for r in table_rows(table)}
        assert {"train-a", "train-b", "no-accuracy", "still-running"} <= set(rows)
        assert rows["no-accuracy"][titles.index("ACCURACY")] == "-"  # the chosen metric is absent
        assert rows["train-a"][titles.index("LINKS")] == "SLURM job 42 plan validate step train"

        await pilot.press("slash", *"status:running", "enter")
        await settle(pilot, cond=lambda: table.row_count == 1)
        assert table_rows(table)[0][1] == "still-running"
        await pilot.press("escape")
        await settle(pilot, cond=lambda: table.row_count >= 4)

        names = [r[1] for r in table_rows(table)]
        table.move_cursor(row=names.index("train-a"))
        await pilot.press("enter")
        await settle(pilot, RunScreen, lambda: app.screen.detail is not None and app.screen.histories)
        chart = app.screen.query_one("#run-chart", Static).render().plain
        assert "loss (last 0.05, 20 points)" in chart and "accuracy (last 0.95, 20 points)" in chart
        assert any("\u2800" < ch <= "\u28ff" for ch in chart)  # braille dots drawn
        head = app.screen.query_one("#run-head", Static).render().plain
        assert "SLURM job 42" in head and "plan validate step train" in head
        await pilot.press("escape")
        await settle(pilot, RunsScreen)

        table.move_cursor(row=names.index("train-a"))
        await pilot.press("space")
        table.move_cursor(row=names.index("train-b"))
        await pilot.press("c")
        await settle(pilot, CompareScreen, lambda: app.screen.tags_a is not None)
        compare = {r[1]: r for r in table_rows(app.screen.query_one(DataTable))}
        assert compare["loss"][2:] == ["0.05", "0.1", "+0.05"]
        assert compare["slurm_job_id"][2:4] == ["42", "-"]
        await pilot.press("escape")
        await settle(pilot, RunsScreen)

        await pilot.press("n")  # one page straight from the server
        await settle(pilot, cond=lambda: screen.server_runs is not None)
        assert {r.name for r in screen.server_runs} >= {"train-a", "train-b"}

        await pilot.press("m")
        await settle(pilot, RegistryScreen)
        status = app.screen.query_one("#registry-status", Static).render().plain
        assert status.endswith("registered models")


async def test_runs_screen_with_server_down_shows_the_error(tmp_path) -> None:
    from backends.mlflow import lab
    from cockpit.config import parse_config
    from cockpit.runtime import build_runtime

    uri = f"http://127.0.0.1:{lab.free_port()}"
    loaded = parse_config(f"cockpit:\n  mlflow:\n    tracking_uri: {uri}\n", "t.yaml", env={})
    runtime = build_runtime(loaded, sources=("mlflow",), audit_path=tmp_path / "audit.jsonl")
    await runtime.hub["mlflow"].fetch_once()
    app = Host(runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, RunsScreen)
        status = app.screen.query_one("#runs-status", Static).render().plain
        assert "not reachable" in status and app.screen.query_one(DataTable).row_count == 0
        await pilot.press("n")  # paging against a dead server: a message, no crash
        await settle(pilot, cond=lambda: "not reachable" in app.screen.query_one("#runs-status", Static).render().plain)
