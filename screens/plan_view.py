"""The plan screen: open a plan, see its DAG and step states live, start and cancel it.

    PlanScreen(runtime, path=None)   a Textual Screen; the app pushes it (e.g. from `:plan`).

Left: the plans shipped in workloads/plans/ (and the user's, in $XDG_CONFIG_HOME/cockpit/plans),
plus a path input. Right: the DAG drawn as waves (every step of a wave needs only earlier waves)
with each step's state, and a table of steps (status, attempts, time, detail) updated from the
run's events. Keys: r run, c cancel (a second c abandons cleanup), escape back.

The run goes through the same PlanRunner and action layer as `cockpit --run` (audited, read-only
respected, reports written to the run's report directory). It runs on the app's event loop as a
Textual worker; the screen only draws what the runner's events say.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static

from cockpit import paths

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

STYLE = {"passed": "green", "failed": "bold red", "interrupted": "red", "skipped": "yellow", "running": "bold cyan",
         "pending": "dim"}
MARK = {"passed": "✓", "failed": "✗", "interrupted": "!", "skipped": "-", "running": "▶", "pending": "·"}


def plan_files() -> list[Path]:
    dirs = [paths.WORKLOADS_DIR / "plans", paths.config_dir() / "plans"]
    found: list[Path] = []
    for d in dirs:
        if d.is_dir():
            found.extend(sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")))
    return found


def dag_text(loaded: Any, status: dict[str, str]) -> Text:
    """The DAG as waves: `wave 2  ▶ job_done ─ ✓ mlflow_answers`, needs shown after an arrow."""
    by_id = {s.id: s for s in loaded.plan.steps}
    text = Text()
    for n, wave in enumerate(loaded.waves(), 1):
        cleanup = by_id[wave[0]].cleanup
        text.append(f"{'cleanup' if cleanup else 'wave'} {n:<3}", style="bold" if not cleanup else "bold magenta")
        for i, sid in enumerate(wave):
            if i:
                text.append("  ")
            state = status.get(sid, "pending")
            text.append(f"{MARK[state]} {sid}", style=STYLE[state])
            needs = by_id[sid].needs
            if needs:
                text.append(f" ← {','.join(needs)}", style="dim")
        text.append("\n")
    return text


class PlanScreen(Screen):
    BINDINGS = [
        Binding("r", "run_plan", "Run"),
        Binding("c", "cancel_plan", "Cancel"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    PlanScreen #plans { width: 32; }
    PlanScreen #path { dock: bottom; }
    PlanScreen #dag { height: auto; max-height: 40%; border: round $accent; padding: 0 1; }
    PlanScreen #banner { height: auto; padding: 0 1; }
    """

    def __init__(self, runtime: "Runtime", path: str | Path | None = None, *, report_dir: Path | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.initial = Path(path) if path else None
        self.report_dir = report_dir
        self.loaded: Any = None
        self.runner: Any = None
        self.status: dict[str, str] = {}
        self.files = plan_files()

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="plans"):
                yield OptionList(*[p.stem for p in self.files], id="plan-list")
                yield Input(placeholder="plan file path, enter to open", id="path")
            with Vertical():
                yield Static("open a plan (left), then r to run it", id="banner")
                yield Static("", id="dag")
                yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        for key, label in (("step", "step"), ("needs", "needs"), ("status", "status"), ("attempts", "tries"),
                           ("time", "time"), ("detail", "detail")):
            table.add_column(label, key=key)
        if self.initial is not None:
            self.open_plan(self.initial)

    # -- opening ------------------------------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.open_plan(self.files[event.option_index])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.open_plan(Path(event.value.strip()).expanduser())

    def open_plan(self, path: Path) -> None:
        from cockpit.errors import ConfigError
        from cockpit.plans import load_plan

        if self.runner is not None and not self.runner.finished.is_set():
            self.banner("a plan is running: cancel it (c) before opening another", error=True)
            return
        try:
            loaded = load_plan(path, registry=self.runtime.registry)
        except ConfigError as exc:
            self.banner(exc.render(), error=True)
            return
        self.loaded, self.runner = loaded, None
        self.status = {s.id: "pending" for s in loaded.plan.steps}
        table = self.query_one("#steps", DataTable)
        table.clear()
        for step in loaded.plan.steps:
            table.add_row(step.id + (" (cleanup)" if step.cleanup else ""), ", ".join(step.needs), "pending", "0", "",
                          step.title, key=step.id)
        self.banner(f"{loaded.plan.plan}: {len(loaded.plan.steps)} steps - r to run")
        self.redraw_dag()

    # -- drawing ------------------------------------------------------------------------------
    def banner(self, text: str, *, error: bool = False) -> None:
        self.query_one("#banner", Static).update(Text(text, style="bold red" if error else ""))

    def redraw_dag(self) -> None:
        if self.loaded is not None:
            self.query_one("#dag", Static).update(dag_text(self.loaded, self.status))

    def on_plan_event(self, event: dict[str, Any]) -> None:
        """A runner event (same loop): update the step's row and the DAG."""
        kind, sid = event.get("event"), event.get("step")
        table = self.query_one("#steps", DataTable)
        if sid in self.status:
            rec = self.runner.state.steps[sid] if self.runner else {}
            if kind == "step.start":
                self.status[sid] = "running"
            elif kind == "step.end":
                self.status[sid] = event["status"]
            elif kind == "step.skip":
                self.status[sid] = "skipped"
            detail = event.get("error") or event.get("reason") or event.get("message") or event.get("detail")
            table.update_cell(sid, "status", Text(self.status[sid], style=STYLE[self.status[sid]]))
            table.update_cell(sid, "attempts", str(len(rec.get("attempts", []))))
            if rec.get("duration_s") is not None:
                table.update_cell(sid, "time", f"{rec['duration_s']:.1f}s")
            if detail:
                table.update_cell(sid, "detail", str(detail)[:200])
            self.redraw_dag()
        if kind == "plan.end":
            self.banner(f"{self.loaded.plan.plan}: {event.get('verdict')} - reports in {self.runner.report_dir}",
                        error=event.get("verdict") != "passed")

    # -- actions ------------------------------------------------------------------------------
    def action_run_plan(self) -> None:
        from cockpit.plans import PlanRunner
        from cockpit.plans.engine import refused_in_read_only
        from screens.actor import actor_of

        if self.loaded is None:
            self.banner("open a plan first", error=True)
            return
        if self.runner is not None and not self.runner.finished.is_set():
            self.banner("already running", error=True)
            return
        refused = refused_in_read_only(self.loaded, self.runtime)
        if refused:
            self.banner("read-only: " + "; ".join(refused), error=True)
            return
        if self.runner is not None:  # run again: fresh states
            self.open_plan(Path(self.loaded.source))
        # The plan acts as whoever opened it: an SSH viewer's plan is refused like their keys are.
        self.runner = PlanRunner(self.loaded, self.runtime, listeners=[self.on_plan_event], report_dir=self.report_dir,
                                 actor=actor_of(self, via="plan"))
        self.banner(f"{self.loaded.plan.plan}: running (c to cancel)")
        self.run_worker(self.runner.run(), name="plan-run", exclusive=True, exit_on_error=False)

    def action_cancel_plan(self) -> None:
        if self.runner is None or self.runner.finished.is_set():
            self.banner("nothing is running")
            return
        again = self.runner.interrupted
        self.runner.cancel()
        self.banner("abandoning cleanup" if again else "cancelling: cleanup steps still run (c again to abandon them)",
                    error=True)

    def action_back(self) -> None:
        if self.runner is not None and not self.runner.finished.is_set():
            self.banner("a plan is running: cancel it (c) first", error=True)
            return
        self.app.pop_screen()
