"""`cockpit --run PLAN` and `cockpit plan schema|validate|run`.

    cockpit --run PLAN [--dry-run] [--resume STATE] [--report-dir DIR] [--var k=v ...]
    cockpit plan run PLAN ...          the same, as a subcommand
    cockpit plan resume STATE          continue a killed or interrupted run
    cockpit plan validate PLAN [--var k=v] [--no-action-check]
    cockpit plan schema                JSON Schema of plan files
    cockpit plan list [DIR] [--json]   the shipped plans (or DIR's): seeds, what each needs, profiles

Exit codes: 0 every step passed, 1 a step failed, 2 invalid plan or config (nothing ran),
3 interrupted (SIGINT/SIGTERM; resume with --resume STATE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.errors import ConfigError

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

EXIT_OK, EXIT_FAIL, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 3


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def add_parser(subparsers: Any) -> None:
    plan = subparsers.add_parser("plan", help="headless plans: schema, validate, run, resume")
    sub = plan.add_subparsers(dest="plan_command", metavar="SUBCOMMAND", required=True)
    sub.add_parser("schema", help="JSON Schema of plan files").set_defaults(func=cmd_schema)

    listing = sub.add_parser("list", help="the shipped plans with their seed ids, what each needs and its profiles")
    listing.add_argument("directory", nargs="?", default=None, help="a directory of plan files (default: the shipped ones)")
    listing.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    listing.set_defaults(func=cmd_list)

    validate = sub.add_parser("validate", help="exit 0 if PLAN is valid, 2 (with every problem by path) if not")
    validate.add_argument("file")
    validate.add_argument("--var", action="append", default=[], metavar="KEY=VALUE")
    validate.add_argument("--no-action-check", action="store_true",
                          help="do not check action names and parameters against this build's registry")
    validate.set_defaults(func=cmd_validate)

    run = sub.add_parser("run", help="run PLAN (same as cockpit --run PLAN)")
    run.add_argument("plan_file", metavar="PLAN")
    _run_flags(run)
    run.set_defaults(func=cmd_run)

    resume = sub.add_parser("resume", help="continue the run whose state file is STATE")
    resume.add_argument("state", metavar="STATE")
    resume.add_argument("--report-dir", metavar="DIR")
    resume.set_defaults(func=cmd_resume)


def _run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="validate and show the order; run nothing")
    parser.add_argument("--resume", metavar="STATE", help="continue a killed run from its state file")
    parser.add_argument("--report-dir", metavar="DIR", help="where events.jsonl, junit.xml, summary.md, state.json go")
    parser.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="set a plan variable")


def cmd_schema(args: argparse.Namespace) -> int:
    from cockpit.plans.model import plan_json_schema

    print(json.dumps(plan_json_schema(), indent=2))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from cockpit.plans.catalog import list_plans

    try:
        entries = list_plans(Path(args.directory) if args.directory else None)
    except ConfigError as exc:
        _err(exc.render())
        return EXIT_INVALID
    if args.json:
        print(json.dumps([e.as_json() for e in entries], indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="plans", expand=False)
        for col in ("plan", "seeds", "needs", "profiles", "file"):
            table.add_column(col, overflow="fold")
        for e in entries:
            needs = ", ".join(e.requires) if not e.problems else "[red]invalid: " + e.problems[0] + "[/]"
            table.add_row(e.name, ", ".join(e.seeds) or "-", needs or "-", ", ".join(e.profiles) or "-", e.path.name)
        Console(highlight=False, soft_wrap=True).print(table)
    return EXIT_INVALID if any(e.problems for e in entries) else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from cockpit.plans.loader import load_plan, parse_vars

    try:
        overrides = parse_vars(args.var)
        registry = None
        if not args.no_action_check:
            from cockpit.ops import default_registry

            registry = default_registry()
        loaded = load_plan(args.file, overrides=overrides, registry=registry)
    except ConfigError as exc:
        _err(exc.render())
        return EXIT_INVALID
    plan = loaded.plan
    waves = loaded.waves()
    print(f"{args.file}: valid (plan {plan.plan}: {len(plan.steps)} steps in {len(waves)} waves"
          + (f"; seeds {', '.join(plan.seeds)}" if plan.seeds else "") + ")")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    args.run = args.plan_file
    return run_plan_command(args)


def cmd_resume(args: argparse.Namespace) -> int:
    args.run, args.dry_run, args.var = None, False, []
    args.resume = args.state
    return run_plan_command(args)


def _load_config(args: argparse.Namespace) -> Any:
    from cockpit.config import load_config

    loaded = load_config(getattr(args, "config", None))
    for warning in loaded.warnings:
        _err(f"warning: {warning}")
    return loaded


def run_plan_command(args: argparse.Namespace) -> int:
    """Entry point of `cockpit --run PLAN`; returns the exit code."""
    from cockpit.ops import default_registry
    from cockpit.plans import EXIT_BY_VERDICT
    from cockpit.plans.engine import dry_run_lines, load_for_resume, refused_in_read_only
    from cockpit.plans.loader import load_plan, parse_vars

    plan_path = getattr(args, "run", None)
    resume = getattr(args, "resume", None)
    try:
        overrides = parse_vars(getattr(args, "var", None) or [])
        registry = default_registry()
        state = None
        if resume:
            state, loaded = load_for_resume(Path(resume), plan_path=plan_path, overrides=overrides, registry=registry)
        else:
            if not plan_path:
                raise ConfigError("--run", ["give a plan file (or --resume STATE)"])
            loaded = load_plan(plan_path, overrides=overrides, registry=registry)
        if getattr(args, "dry_run", False):
            print("\n".join(dry_run_lines(loaded, registry)))
            print("dry run: nothing was executed")
            return EXIT_OK
        config = _load_config(args)
    except ConfigError as exc:
        _err(exc.render())
        return EXIT_INVALID

    from cockpit.runtime import build_runtime

    runtime = build_runtime(config, read_only=True if getattr(args, "read_only", False) else None)
    refused = refused_in_read_only(loaded, runtime)
    if refused:
        _err(ConfigError(loaded.source, refused).render())
        _audit_plan_refusal(runtime, loaded, refused)
        return EXIT_INVALID
    # Absolute: ${run.report_dir} is handed to jobs (workdir) that start elsewhere.
    report_dir = Path(args.report_dir).absolute() if getattr(args, "report_dir", None) else (
        Path(resume).resolve().parent if resume else None)
    verdict = asyncio.run(_run(loaded, runtime, state, report_dir))
    return EXIT_BY_VERDICT.get(verdict, EXIT_FAIL)


def _audit_plan_refusal(runtime: "Runtime", loaded: Any, reasons: list[str]) -> None:
    """A plan refused by read-only mode is a refused action like any other: audited."""
    from cockpit.actions import local_actor
    from cockpit.audit import AuditUnavailable

    try:
        runtime.audit.write({"event": "plan.refused", "plan": loaded.plan.plan, "source": loaded.source,
                             "actor": local_actor("plan").as_record(), "reason": "; ".join(reasons)})
    except AuditUnavailable as exc:
        _err(f"warning: {exc}")


def _start_recording(runtime: Any, report_dir: Path) -> Any:
    """Every plan run records what its hub publishes next to its reports (recording.sqlite; a
    resumed run appends). A recording that cannot be opened is a warning, never a failed plan."""
    from cockpit.recorder import Limits, Recording, RecordingError, default_plan_recording
    from cockpit.recorder_tap import HubTap

    path = default_plan_recording(report_dir)
    try:
        recording = Recording.create_or_append(path, Limits())
    except (RecordingError, OSError) as exc:
        _err(f"warning: not recording this run: {exc}")
        return None
    tap = HubTap(runtime.hub, recording)
    tap.start()
    return tap


async def _run(loaded: Any, runtime: "Runtime", state: Any, report_dir: Path | None) -> str:
    from cockpit.plans.engine import PlanRunner
    from cockpit.plans.reports import ConsoleProgress

    runner = PlanRunner(loaded, runtime, report_dir=report_dir, state=state)
    progress = ConsoleProgress(loaded.plan)
    if state is not None:
        progress.seed(state)
    runner.add_listener(progress)
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        name = signal.Signals(signum).name
        if signals == 1:
            _err(f"{name}: stopping; cleanup steps still run ({name} again to abandon them)")
            runner.cancel()
        else:
            _err(f"{name}: abandoning cleanup")
            runner.cancel(force=True)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    tap = _start_recording(runtime, runner.report_dir)
    try:
        with progress:
            verdict = await runner.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await runtime.close()
        if tap is not None:
            await tap.stop()
            await asyncio.to_thread(tap.recording.close)  # a WAL checkpoint: off the event loop
    out = runner.report_dir
    print(f"plan {loaded.plan.plan}: {verdict} (run {runner.run_id})")
    print(f"reports: {out / 'summary.md'}  {out / 'junit.xml'}  {out / 'events.jsonl'}")
    if tap is not None:
        print(f"recording: {tap.recording.path}  (cockpit replay {tap.recording.path})")
    if verdict == "interrupted":
        print(f"resume with: cockpit --run {loaded.source} --resume {out / 'state.json'}")
    return verdict
