"""One MLflow run: its metric curves drawn in the terminal, params, tags, links, artifacts.

Opened with `(runtime, item)` from the runs pane (DETAIL_SCREEN). The detail and the metric
histories load in the background through the query seam (runtime.query); while the run is RUNNING they
reload every few seconds so the curves move. Keys: l log scale, a all metrics / chosen ones,
r reload, escape back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from cockpit.mlflow_runs import run_links
from screens.mlflow_chart import braille_chart
from screens.mlflow_common import chosen_metrics, mlflow_adapter
from screens.render.mlflow import duration

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

LIVE_RELOAD_S = 5.0


class RunScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "toggle_log", "Log scale"),
        Binding("a", "toggle_all", "All metrics"),
        Binding("r", "reload", "Reload"),
    ]
    DEFAULT_CSS = """
    RunScreen #run-head { padding: 0 1; background: $boost; height: auto; }
    RunScreen #run-chart, RunScreen #run-body { padding: 0 1; height: auto; }
    """

    def __init__(self, runtime: "Runtime", item: Any) -> None:
        super().__init__()
        self.runtime, self.item = runtime, item
        self.log_y = False
        self.all_metrics = False
        self.detail: Any = None
        self.histories: dict[str, list[Any]] = {}
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.head_text(), id="run-head")
        with VerticalScroll():
            yield Static(Text("loading metric history…", style="dim"), id="run-chart")
            yield Static("", id="run-body")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(LIVE_RELOAD_S, self.reload_if_running)

    # -- data ------------------------------------------------------------------------------------
    def metric_names(self) -> list[str]:
        have = list((self.detail.run if self.detail else self.item).metrics)
        if self.all_metrics:
            return sorted(have)
        chosen = [m for m in chosen_metrics(self.runtime) if m in have]
        return chosen or sorted(have)[:4]

    @work(exclusive=True, group="mlflow-run")
    async def load(self) -> None:
        adapter = mlflow_adapter(self.runtime)
        if adapter is None:
            self.error = "MLflow is not configured"
            self.redraw()
            return
        try:
            self.detail = await adapter.run_detail(self.item.run_id)
            self.histories = {name: await adapter.metric_history(self.item.run_id, name)
                              for name in self.metric_names()}
            self.error = None
        except Exception as exc:  # server gone, run deleted: say so, keep what was shown
            self.error = str(exc)
        self.redraw()

    def reload_if_running(self) -> None:
        run = self.detail.run if self.detail else self.item
        if run.status == "RUNNING":
            self.load()

    # -- drawing ----------------------------------------------------------------------------------
    def head_text(self) -> Text:
        run = self.detail.run if self.detail else self.item
        text = Text()
        text.append(f"{run.name or run.run_id}", style="bold")
        text.append(f"  {run.run_id}  experiment {run.experiment}  ")
        style = {"FAILED": "red", "RUNNING": "yellow", "FINISHED": "green", "KILLED": "red"}.get(run.status, "")
        text.append(run.status, style=style)
        text.append(f"  duration {duration(run)}  started {(run.start_time or '-')[:19].replace('T', ' ')}")
        for link in run_links(run.tags):
            text.append("\n→ ", style="dim")
            text.append(link.label, style="underline")
        if self.error:
            text.append(f"\n{self.error}", style="red")
        return text

    def chart(self) -> Text:
        series = {name: [(p.step, p.value) for p in points] for name, points in self.histories.items()}
        wanted = self.metric_names()
        missing = [m for m in chosen_metrics(self.runtime) if m not in (self.detail.run.metrics if self.detail else {})]
        width = max(30, (self.size.width or 100) - 16)
        out = Text()
        if not wanted:
            out.append("this run logged no metrics", style="dim")
        for name in wanted:
            out.append(f"{name}\n", style="bold")
            out.append_text(braille_chart({name: series.get(name, [])}, width=width, height=8, log_y=self.log_y))
            out.append("\n\n")
        if missing and not self.all_metrics:
            out.append(f"not logged by this run: {', '.join(missing)}", style="dim")
        return out

    def body(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        if self.detail is None:
            return grid
        run = self.detail.run
        grid.add_row("metrics", "  ".join(f"{k}={v:.6g}" for k, v in sorted(run.metrics.items())) or "-")
        for key, value in sorted(run.params.items()):
            grid.add_row(f"param {key}", value)
        for key, value in sorted(self.detail.all_tags.items()):
            if not key.startswith("mlflow.") or key in ("mlflow.user", "mlflow.source.name"):
                grid.add_row(f"tag {key}", value)
        grid.add_row("artifacts", ", ".join(self.detail.artifacts) or "-")
        grid.add_row("artifact uri", self.detail.artifact_uri or "-")
        return grid

    def redraw(self) -> None:
        self.query_one("#run-head", Static).update(self.head_text())
        self.query_one("#run-chart", Static).update(self.chart())
        self.query_one("#run-body", Static).update(self.body())

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.redraw()

    def action_toggle_all(self) -> None:
        self.all_metrics = not self.all_metrics
        self.load()

    def action_reload(self) -> None:
        self.load()
