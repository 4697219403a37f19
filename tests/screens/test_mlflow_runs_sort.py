"""The MLflow runs screen sorts by value on a header click and colours runs by status."""

from __future__ import annotations

from types import SimpleNamespace

from textual.app import App
from textual.widgets import DataTable

from backends.mlflow.models import RunItem
from cockpit.snapshot import FetchResult, Snapshot, Status, utcnow
from screens.render import sort_items
from screens.render.mlflow import columns

RUNS = [
    RunItem(run_id="a" * 32, experiment="e", experiment_id="1", name="small", status="FINISHED",
            duration_s=90, metrics={"loss": 0.5}),
    RunItem(run_id="b" * 32, experiment="e", experiment_id="1", name="big", status="FAILED",
            duration_s=7200, metrics={"loss": 10.0}),
    RunItem(run_id="c" * 32, experiment="e", experiment_id="1", name="tiny", status="RUNNING",
            duration_s=600, metrics={"loss": 0.05}),
    RunItem(run_id="d" * 32, experiment="e", experiment_id="1", name="none", status="KILLED"),
]


def test_sort_items_by_value_missing_last() -> None:
    loss = next(c for c in columns() if c.title == "LOSS")
    assert [r.name for r in sort_items(loss, RUNS)] == ["tiny", "small", "big", "none"]  # not "0.05" "0.5" "10"
    assert [r.name for r in sort_items(loss, RUNS, descending=True)] == ["big", "small", "tiny", "none"]
    duration = next(c for c in columns() if c.title == "DURATION")
    assert [r.name for r in sort_items(duration, RUNS)] == ["small", "tiny", "big", "none"]  # 1m30s, 10m, 2h


class Collector:
    def __init__(self) -> None:
        self.snapshot = Snapshot("mlflow", Status.OK, utcnow(), items=FetchResult.of(RUNS).items)

    def subscribe(self, callback):
        return lambda: None

    def watch(self):
        return lambda: None


async def test_header_click_sorts_the_screen_and_rows_carry_status_colours() -> None:
    from screens.mlflow_runs import RunsScreen

    runtime = SimpleNamespace(hub=SimpleNamespace(collectors={"mlflow": Collector()}),
                              config=SimpleNamespace(cockpit=SimpleNamespace(mlflow=None)))
    screen = RunsScreen(runtime)

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Host().run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        table = screen.query_one(DataTable)
        loss = [c.title for c in screen.cols].index("LOSS")
        table.post_message(DataTable.HeaderSelected(table, table.ordered_columns[loss].key, loss, table.ordered_columns[loss].label))
        await pilot.pause()
        assert [screen.rows[k].name for k in screen.rows] == ["tiny", "small", "big", "none"]
        assert "sorted by LOSS ▲" in str(screen.query_one("#runs-status").render())
        failed = screen.cells(RUNS[1], RUNS[1].run_id)
        assert str(failed[0].style) == "red"
