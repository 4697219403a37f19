"""Reports of a plan run, all built from its state: JUnit XML, a Markdown summary, and the live
terminal progress (the JSON-lines stream is written by the engine itself)."""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cockpit.redact import redact, scrub
from cockpit.plans.state import RunState, atomic_write

if TYPE_CHECKING:
    from cockpit.plans.model import Plan

MARK = {"passed": "✅", "failed": "❌", "skipped": "⏭", "interrupted": "⛔", "pending": "·", "running": "…"}
JUNIT_FILE, MARKDOWN_FILE, EVENTS_FILE, STATE_FILE = "junit.xml", "summary.md", "events.jsonl", "state.json"


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str, limit: int) -> str:
    """A detail for one table cell: its first and last lines, and when still too long, its start
    and its end (a reason's cause is often at the end: "... python: No such file or directory")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = "" if not lines else lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"
    if len(text) <= limit:
        return text
    head = limit * 11 // 20
    return f"{text[:head].rstrip()} … {text[-(limit - head - 3):].lstrip()}"


def junit_xml(state: RunState, plan: "Plan") -> str:
    steps = state.steps
    counts = {s: sum(1 for r in steps.values() if r["status"] == s) for s in ("failed", "skipped", "pending", "interrupted")}
    total_time = sum((r.get("duration_s") or 0.0) for r in steps.values())
    suites = ET.Element("testsuites", name=plan.plan, tests=str(len(steps)),
                        failures=str(counts["failed"]), errors=str(counts["interrupted"]), time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=plan.plan, tests=str(len(steps)),
                          failures=str(counts["failed"]), errors=str(counts["interrupted"]),
                          skipped=str(counts["skipped"] + counts["pending"]), time=f"{total_time:.3f}",
                          timestamp=state.started_at or "")
    props = ET.SubElement(suite, "properties")
    for key, value in (("run_id", state.run_id), ("verdict", state.verdict or "unfinished"),
                       ("plan_source", state.plan_source), ("seeds", ", ".join(plan.seeds))):
        ET.SubElement(props, "property", name=key, value=str(value))
    for step in plan.steps:
        rec = steps[step.id]
        case = ET.SubElement(suite, "testcase", classname=f"{plan.plan}.{'cleanup' if step.cleanup else 'steps'}",
                             name=step.id, time=f"{(rec.get('duration_s') or 0.0):.3f}")
        status = rec["status"]
        if status == "failed":
            failure = ET.SubElement(case, "failure", message=_short(rec.get("error") or "failed", 500), type="StepFailed")
            failure.text = "\n".join(f"attempt {a['n']}: {a.get('error') or 'ok'}" for a in rec["attempts"])
        elif status == "interrupted":
            ET.SubElement(case, "error", message=rec.get("error") or "interrupted", type="Interrupted")
        elif status == "skipped":
            ET.SubElement(case, "skipped", message=rec.get("reason") or "skipped")
        elif status in ("pending", "running"):
            ET.SubElement(case, "skipped", message="not run (the run was interrupted)")
        out = [f"{step.title}", f"attempts: {len(rec['attempts'])}"]
        if rec.get("outputs"):
            out.append("outputs: " + json.dumps(redact(rec["outputs"]), default=str, sort_keys=True)[:4000])
        if rec.get("audit_ids"):
            out.append("audit ids: " + ", ".join(rec["audit_ids"]))
        ET.SubElement(case, "system-out").text = "\n".join(out)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def markdown(state: RunState, plan: "Plan") -> str:
    verdict = state.verdict or "unfinished"
    lines = [f"# Plan `{plan.plan}`: {MARK.get(verdict, '')} {verdict}".rstrip(), ""]
    if plan.description:
        lines += [plan.description.strip(), ""]
    if plan.seeds:
        lines += [f"Seeds: {', '.join(plan.seeds)}", ""]
    lines += [f"- run: `{state.run_id}`", f"- plan file: `{state.plan_source}`",
              f"- started: {state.started_at}", f"- ended: {state.ended_at or '-'}"]
    if state.resumes:
        lines.append(f"- resumed: {len(state.resumes)} time(s), last at {state.resumes[-1]}")
    if state.overrides:
        lines.append("- variables: " + ", ".join(f"`{k}={v}`" for k, v in redact(state.overrides).items()))
    lines += ["", "| step | status | attempts | time (s) | detail |", "|---|---|---|---|---|"]
    for step in plan.steps:
        rec = state.steps[step.id]
        detail = rec.get("error") or rec.get("reason") or rec.get("detail") or ""
        if not detail and rec.get("outputs"):
            detail = _short(redact(rec["outputs"]), 120)
        if "\n" in detail and rec["status"] == "failed":  # a job's output tail: under "What failed"
            detail = detail.split("\n", 1)[0] + " (see below)"
        detail = detail.replace("|", "\\|").replace("\n", " ")
        name = step.id + (" (cleanup)" if step.cleanup else "")
        duration = f"{rec['duration_s']:.2f}" if rec.get("duration_s") is not None else "-"
        lines.append(f"| {name} | {MARK.get(rec['status'], '')} {rec['status']} | {len(rec['attempts'])} | {duration} | {detail} |")
    lines += seed_check_lines(state, plan)
    failed = [s for s in plan.steps if state.steps[s.id]["status"] == "failed"]
    if failed:
        lines += ["", "## What failed"]
        for step in failed:
            first, _, rest = str(state.steps[step.id].get("error")).partition("\n")
            lines.append(f"- **{step.id}** ({step.title}): {first}")
            if rest:  # e.g. the end of a failed job's output, verbatim
                fence = "~~~~"
                lines += ["", f"  {fence}text", *(f"  {line}" for line in rest.splitlines()), f"  {fence}"]
    lines += ["", f"Reports: `{EVENTS_FILE}` (event stream), `{JUNIT_FILE}`, `{STATE_FILE}` (resume with "
              f"`cockpit --run {state.plan_source} --resume {STATE_FILE}`)."]
    return "\n".join(lines) + "\n"


def seed_checks(state: RunState, plan: "Plan") -> list[dict[str, Any]]:
    """Every condition a plan labels with its seed's success criterion, with its verdict:
    passed / failed (with the figure it saw) or not checked (the step never evaluated it)."""
    out = []
    for step in plan.steps:
        rec = state.steps[step.id]
        recorded = {c["index"]: c for c in rec.get("seed_checks") or []}
        for i, cond in enumerate(step.assert_ or []):
            if not cond.seed:
                continue
            got = recorded.get(i)
            if got is not None and got["ok"] is None:
                out.append({"seed": got.get("seed") or cond.seed, "step": step.id, "figure": "",
                            "verdict": "not checked", "detail": got.get("detail") or ""})
            elif got is not None:
                detail = got.get("detail") or ""
                if not got["ok"] and got.get("required") is False:
                    detail += " (reported only: this run does not gate on it)"
                out.append({"seed": got.get("seed") or cond.seed, "step": step.id, "figure": _figure(got.get("value")),
                            "verdict": "passed" if got["ok"] else "failed", "detail": detail})
            else:
                why = rec.get("reason") or rec.get("error") or ("the step " + rec["status"])
                if why == "when: false":
                    why = "switched off for this run (when: false): not run here"
                out.append({"seed": cond.seed, "step": step.id, "figure": "", "verdict": "not checked", "detail": why})
    return out


def _figure(value: Any) -> str:
    """The value a check compared, short: 0.5602783 -> 0.5603, '2' -> 2."""
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _short(value, 60)
    return f"{number:.4g}" if number == number else str(value)


def seed_check_lines(state: RunState, plan: "Plan") -> list[str]:
    checks = seed_checks(state, plan)
    if not checks:
        return []
    marks = {"passed": "✅", "failed": "❌", "not checked": "⏭"}
    lines = ["", "## Seed checks", "", "| criterion | verdict | figure | detail | step |", "|---|---|---|---|---|"]
    for c in checks:
        detail = _one_line(str(redact(c["detail"])), 200).replace("|", "\\|")
        lines.append(f"| {c['seed']} | {marks[c['verdict']]} {c['verdict']} | {c['figure']} | {detail} | {c['step']} |")
    return lines


def write_reports(state: RunState, plan: "Plan", report_dir: Path) -> dict[str, Path]:
    report_dir = Path(report_dir)
    out = {"junit": report_dir / JUNIT_FILE, "markdown": report_dir / MARKDOWN_FILE,
           "events": report_dir / EVENTS_FILE, "state": report_dir / STATE_FILE}
    atomic_write(out["junit"], scrub(junit_xml(state, plan)))  # no secret leaves in a failure message
    atomic_write(out["markdown"], scrub(markdown(state, plan)))
    return out


# ----------------------------------------------------------------------------------------------
# Live progress
# ----------------------------------------------------------------------------------------------
class ConsoleProgress:
    """Live progress: a redrawn rich table on a terminal, one plain line per event otherwise
    (CI logs)."""

    def __init__(self, plan: "Plan", stream: TextIO | None = None, *, live: bool | None = None) -> None:
        from rich.console import Console

        self.plan = plan
        self.console = Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)
        self.live_enabled = self.console.is_terminal if live is None else live
        self.status = {s.id: "pending" for s in plan.steps}
        self.detail: dict[str, str] = {}
        self.started: dict[str, float] = {}
        self.durations: dict[str, float] = {}
        self._live: Any = None

    def __enter__(self) -> "ConsoleProgress":
        if self.live_enabled:
            from rich.live import Live

            self._live = Live(self._table(), console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(*exc)
            self._live = None

    def seed(self, state: RunState) -> None:
        for sid, rec in state.steps.items():
            if sid in self.status:
                self.status[sid] = rec["status"]
                if rec.get("duration_s") is not None:
                    self.durations[sid] = rec["duration_s"]

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title=f"plan {self.plan.plan}", expand=False)
        for col in ("step", "status", "time", "detail"):
            table.add_column(col, overflow="fold")
        now = time.monotonic()
        for step in self.plan.steps:
            status = self.status[step.id]
            if status == "running" and step.id in self.started:
                took = f"{now - self.started[step.id]:.1f}s"
            else:
                took = f"{self.durations[step.id]:.2f}s" if step.id in self.durations else ""
            style = {"passed": "green", "failed": "red", "interrupted": "red", "skipped": "yellow",
                     "running": "cyan"}.get(status, "dim")
            table.add_row(step.id + (" (cleanup)" if step.cleanup else ""), f"[{style}]{status}[/]", took,
                          self.detail.get(step.id, "")[:100])
        return table

    def __call__(self, event: dict[str, Any]) -> None:
        kind, sid = event.get("event"), event.get("step")
        if sid is not None and sid in self.status:
            if kind == "step.start":
                self.status[sid] = "running"
                self.started[sid] = time.monotonic()
                self.detail[sid] = f"attempt {event.get('attempt')}" if event.get("attempt", 1) > 1 else ""
            elif kind == "step.end":
                self.status[sid] = event["status"]
                self.durations[sid] = event.get("duration_s") or 0.0
                self.detail[sid] = event.get("error") or event.get("detail") or ""
            elif kind == "step.skip":
                self.status[sid] = "skipped"
                self.detail[sid] = event.get("reason", "")
            elif kind == "step.retry":
                self.detail[sid] = f"retry in {event.get('delay_s')}s: {event.get('error')}"
            elif kind in ("step.progress", "step.lost"):
                self.detail[sid] = event.get("message") or event.get("reason") or ""
        if self._live is not None:
            self._live.update(self._table())
            return
        self.console.print(self._line(event), markup=False)

    def _line(self, event: dict[str, Any]) -> str:
        kind, sid = event.get("event"), event.get("step")
        ts = str(event.get("ts", ""))[11:19]
        if kind == "step.start":
            return f"{ts} … {sid}: started (attempt {event.get('attempt')})"
        if kind == "step.end":
            took = f" in {event.get('duration_s', 0):.2f}s"
            err = f": {event['error']}" if event.get("error") else ""
            return f"{ts} {MARK.get(event['status'], '?')} {sid}: {event['status']}{took}{err}"
        if kind == "step.skip":
            return f"{ts} ⏭ {sid}: skipped ({event.get('reason')})"
        if kind == "step.retry":
            return f"{ts} ↻ {sid}: attempt {event.get('attempt')} failed ({event.get('error')}); retry in {event.get('delay_s')}s"
        if kind == "step.progress":
            return f"{ts}   {sid}: {event.get('message')}"
        if kind == "step.lost":
            return f"{ts} ! {sid}: {event.get('reason')}"
        if kind == "plan.start":
            return f"{ts} plan {event.get('plan')}: {event.get('steps')} steps, run {event.get('run_id')}"
        if kind == "plan.resume":
            return f"{ts} plan resumed (run {event.get('run_id')}, phase {event.get('phase')})"
        if kind == "plan.phase":
            return f"{ts} -- {event.get('phase')} steps --"
        if kind == "plan.end":
            return f"{ts} plan {event.get('verdict')} {event.get('counts')}"
        return f"{ts} {kind} {sid or ''}"
