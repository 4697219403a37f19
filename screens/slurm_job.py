"""Job detail screen: every field, the batch script, the node list and a live tail of the output.

Opened with `enter` on a queue row (DETAIL_SCREEN in screens/render/slurm.py); `escape` goes back.
The detail and the tail come from the query seam (`runtime.query.job_detail` and
`follow_job_log`): reads, not audited.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Log, Static

from cockpit.slurm_logs import log_paths
from screens.render.slurm import detail, efficiency_block, raw_fields, steps_table
from screens.status import backend_first

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

# A detail must not say "loading..." forever while the controller is down.
DETAIL_TIMEOUT_S = 20.0


class JobScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "back"), Binding("f", "toggle_follow", "follow on/off")]
    DEFAULT_CSS = """
    JobScreen #fields { width: 1fr; }
    JobScreen #right { width: 2fr; }
    JobScreen #script { height: auto; max-height: 50%; border: round $accent; }
    JobScreen #log { height: 1fr; border: round $primary; }
    """

    def __init__(self, runtime: "Runtime", item: Any) -> None:
        super().__init__()
        self.runtime = runtime
        self.item = item
        self.follow = True
        self.lines_shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="fields"):
                view_now = getattr(self.app, "view_now", None)  # replay: the recorded moment
                yield Static(detail(self.item, self._cluster_nodes(), view_now() if callable(view_now) else None),
                             id="summary")
                yield Static("loading job detail...", id="detail")
            with VerticalScroll(id="right"):
                yield Static("batch script: loading...", id="script")
                yield Log(id="log", highlight=False, max_lines=5000)
        yield Footer()

    def _cluster_nodes(self) -> Any:
        """The cluster's nodes from the last SLURM snapshot: a Resources wait then says what is short."""
        collector = getattr(getattr(self.runtime, "hub", None), "collectors", {}).get("slurm")
        snapshot = getattr(collector, "snapshot", None)
        return snapshot.sections.get("nodes") if snapshot is not None else None

    def on_mount(self) -> None:
        job_id = self.item.job_id if hasattr(self.item, "job_id") else self.item["job_id"]
        self.title = f"SLURM job {job_id}"
        self.run_worker(self._load_detail(job_id), exclusive=False, group="detail")
        paths = log_paths(self.item)
        if paths:
            self.query_one("#log", Log).border_title = paths[0]
            self.run_worker(self._tail(paths[0]), group="tail")
        else:
            self.query_one("#log", Log).write_line("this job has no output file")

    def _source_error(self) -> str | None:
        """The SLURM source's current error, if it is failing (an outage)."""
        collector = getattr(getattr(self.runtime, "hub", None), "collectors", {}).get("slurm")
        snap = getattr(collector, "snapshot", None)
        if snap is not None and getattr(snap, "status", None) is not None and snap.status.value == "error":
            return backend_first(snap.error)
        return None

    def _failed(self, why: str) -> None:
        self.query_one("#detail", Static).update(f"job detail failed: {why}")
        self.query_one("#script", Static).update("batch script: not available (the detail failed)")

    async def _load_detail(self, job_id: int) -> None:
        outage = self._source_error()
        if outage:  # say it now rather than "loading..." while the controller does not answer
            self.query_one("#detail", Static).update(f"SLURM is failing: {outage}\nasking for the job anyway...")
        try:
            out = await asyncio.wait_for(self.runtime.query.job_detail(job_id), DETAIL_TIMEOUT_S)
        except asyncio.TimeoutError:
            self._failed(f"no answer from SLURM within {DETAIL_TIMEOUT_S:.0f} s"
                         + (f"; the source reports: {self._source_error()}" if self._source_error() else ""))
            return
        except Exception as exc:  # the screen must survive a broken backend
            self._failed(backend_first(str(exc)))
            return
        fields = out.get("fields") or {}
        nodes = out.get("nodes") or []
        steps = out.get("steps") or []
        steps_text = steps_table(steps) if steps else f"steps: {out.get('steps_note') or 'none recorded'}"
        efficiency = efficiency_block(out.get("accounting"))
        if efficiency:
            steps_text = f"{efficiency}\n\n{steps_text}"
        self.query_one("#detail", Static).update(
            f"nodes: {', '.join(nodes) or '-'}\n\n{steps_text}\n\nall fields, as Slurm reports them:\n"
            f"{raw_fields(fields)}")
        script = out.get("script")
        self.query_one("#script", Static).update(script if script is not None else
                                                  f"batch script: {out.get('script_note') or 'not available'}")

    async def _tail(self, path: str) -> None:
        log = self.query_one("#log", Log)
        try:
            async for line in self.runtime.query.follow_job_log(path):
                if self.follow:
                    log.write_line(line)
                    self.lines_shown += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.write_line(f"[log tail stopped: {exc}]")

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.notify("following the log" if self.follow else "log paused")
