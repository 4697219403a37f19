"""Two MLflow runs side by side: run facts, metrics (with b - a), params and tags; rows that
differ are highlighted, and the chosen metrics' curves of both runs share one chart.
Keys: d show only differences, escape back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cockpit.mlflow_runs import compare_runs
from screens.mlflow_chart import braille_chart
from screens.mlflow_common import chosen_metrics, mlflow_adapter

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


class CompareScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("d", "toggle_diff", "Only differences")]
    DEFAULT_CSS = """
    CompareScreen #compare-chart { height: auto; padding: 0 1; }
    CompareScreen DataTable { height: auto; max-height: 60%; }
    """

    def __init__(self, runtime: "Runtime", a: Any, b: Any) -> None:
        super().__init__()
        self.runtime, self.a, self.b = runtime, a, b
        self.only_diff = False
        self.tags_a: dict[str, str] | None = None
        self.tags_b: dict[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("A ", "cyan bold"), self.a.name or self.a.run_id, "   vs   ",
                                   ("B ", "magenta bold"), self.b.name or self.b.run_id), id="compare-head")
        table: DataTable[Any] = DataTable(id="compare-table", cursor_type="row")
        yield table
        with VerticalScroll():
            yield Static(Text("loading curves…", style="dim"), id="compare-chart")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for title in ("", "KEY", "A", "B", "B - A"):
            table.add_column(title)
        self.fill()
        self.load()

    def fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in compare_runs(self.a, self.b, all_tags_a=self.tags_a, all_tags_b=self.tags_b):
            if self.only_diff and not row.differs:
                continue
            style = "bold yellow" if row.differs else ""
            delta = "" if row.delta is None else f"{row.delta:+.4g}"
            table.add_row(row.section, Text(row.key, style=style), row.a if row.a is not None else "-",
                          row.b if row.b is not None else "-", delta)

    @work(exclusive=True, group="mlflow-compare")
    async def load(self) -> None:
        adapter = mlflow_adapter(self.runtime)
        chart = self.query_one("#compare-chart", Static)
        if adapter is None:
            chart.update(Text("MLflow is not configured", style="red"))
            return
        names = [m for m in chosen_metrics(self.runtime) if m in self.a.metrics or m in self.b.metrics]
        out = Text()
        try:
            da, db = await adapter.run_detail(self.a.run_id), await adapter.run_detail(self.b.run_id)
            self.tags_a, self.tags_b = {k: v for k, v in da.all_tags.items() if not k.startswith("mlflow.")}, \
                {k: v for k, v in db.all_tags.items() if not k.startswith("mlflow.")}
            self.fill()
            for name in names:
                ha = await adapter.metric_history(self.a.run_id, name)
                hb = await adapter.metric_history(self.b.run_id, name)
                out.append(f"{name}\n", style="bold")
                out.append_text(braille_chart({f"A {name}": [(p.step, p.value) for p in ha],
                                               f"B {name}": [(p.step, p.value) for p in hb]},
                                              width=max(30, (self.size.width or 100) - 16), height=8))
                out.append("\n\n")
        except Exception as exc:
            out.append(str(exc), style="red")
        chart.update(out if names else Text("neither run logged the chosen metrics", style="dim"))

    def action_toggle_diff(self) -> None:
        self.only_diff = not self.only_diff
        self.fill()
