"""The `cockpit` command.

    cockpit                         the screen (a one-shot table when not on a terminal)
    cockpit snapshot --format json  one fetch of every source, the documented JSON contract
    cockpit config validate [FILE]  exit 0 valid, 2 invalid (every problem named by path)
    cockpit config schema           JSON Schema of the config
    cockpit action list|run         the action layer from a shell (audited)
    cockpit --run PLAN              a headless plan (see `cockpit plan schema`)
    cockpit snapshot --at TIME FILE the state a recording (`cockpit record`) holds at TIME

Exit codes: 0 ok, 1 failure, 2 invalid input (config, plan, parameters), 3 interrupted.
Further subcommands (lab, serve-ssh, plan, ...) register in SUBCOMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from typing import Any, Callable

from cockpit.errors import ConfigError
from cockpit.redact import install_log_redaction

EXIT_OK, EXIT_FAIL, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 3

# Modules that add subcommands: each has add_parser(subparsers) setting `func` on its parser.
SUBCOMMANDS: tuple[str, ...] = (
    "cockpit.cli_lab",
    "cockpit.cli_plan",
    "cockpit.cli_ssh",
    "cockpit.cli_inventory",
    "cockpit.cli_record",
    "cockpit.cli_metrics",
    "cockpit.cli_status",
)


def _print_err(message: str) -> None:
    print(message, file=sys.stderr)


def load(args: argparse.Namespace) -> Any:
    from cockpit.config import load_config

    loaded = load_config(args.config)
    for warning in loaded.warnings:
        _print_err(f"warning: {warning}")
    return loaded


# -- snapshot -----------------------------------------------------------------------------------
def cmd_snapshot(args: argparse.Namespace) -> int:
    if getattr(args, "at", None) or getattr(args, "recording", None):
        from cockpit.cli_record import cmd_snapshot_at

        return cmd_snapshot_at(args)
    from cockpit import oneshot
    from cockpit.sources import SOURCE_NAMES

    sources = tuple(s.strip() for s in args.sources.split(",")) if args.sources else SOURCE_NAMES
    unknown = [s for s in sources if s not in SOURCE_NAMES]
    if unknown:
        _print_err(f"--sources: unknown source {unknown[0]!r} (known: {', '.join(SOURCE_NAMES)})")
        return EXIT_INVALID
    loaded = load(args)
    text, _snapshots = oneshot.run(loaded, args.format, sources, args.timeout)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


# -- config -------------------------------------------------------------------------------------
def cmd_config_validate(args: argparse.Namespace) -> int:
    from cockpit.config import load_config

    try:
        loaded = load_config(args.file or getattr(args, "config", None))
    except ConfigError as exc:
        _print_err(exc.render())
        return EXIT_INVALID
    from cockpit.audit import path_problem
    from cockpit.runtime import audit_log_path

    audit_problem = path_problem(audit_log_path(loaded))
    if audit_problem is not None:
        _print_err(ConfigError(str(args.file or loaded.path), [f"cockpit -> audit_log: {audit_problem}"]).render())
        return EXIT_INVALID
    for warning in loaded.warnings:
        _print_err(f"warning: {warning}")
    cfg = loaded.config
    parts = []
    if cfg.clusters.hpc:
        parts.append(f"hpc '{cfg.clusters.hpc.name}' with {len(cfg.clusters.hpc.compute_node_list())} compute nodes")
    if cfg.clusters.cloud:
        workers = sum(len(v) for v in cfg.clusters.cloud.worker_nodes.values())
        parts.append(f"cloud '{cfg.clusters.cloud.name}' with {workers} workers")
    print(f"{args.file or loaded.path or 'embedded default'}: valid" + (f" ({'; '.join(parts)})" if parts else ""))
    return EXIT_OK


def cmd_config_schema(args: argparse.Namespace) -> int:
    from cockpit.config import config_json_schema

    print(json.dumps(config_json_schema(), indent=2))
    return EXIT_OK


def cmd_config_path(args: argparse.Namespace) -> int:
    from cockpit.config import locate_config

    print(locate_config(args.config))
    return EXIT_OK


# -- actions ------------------------------------------------------------------------------------
def parse_param(text: str) -> tuple[str, str]:
    """`key=value`: the value stays text; the action's model decides its type (cockpit.params)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"parameter {text!r}: expected key=value")
    return key, value


def cmd_action_list(args: argparse.Namespace) -> int:
    from cockpit.ops import default_registry

    for action in default_registry():
        fields = ", ".join(action.params.model_fields)
        print(f"{action.name:<28} {action.danger.value:<8} {action.title}  ({fields})")
    return EXIT_OK


async def _target_text(runtime: Any, name: str, params: Any) -> str | None:
    """What the action would hit now (the VMs it names, ...), shown with its confirmation."""
    from cockpit.actions import ActionError, local_actor

    try:
        target: str | None = await runtime.dispatcher.read_target(runtime.dispatcher.prepare(name, params),
                                                                  local_actor("cli"))
        return target
    except ActionError as exc:
        return f"unreadable ({exc})"


def cmd_action_run(args: argparse.Namespace) -> int:
    import asyncio

    from cockpit.actions import ActionError, ActionRefused, InvalidParams, NeedsConfirmation, UnknownAction, local_actor
    from cockpit.params import TextParams
    from cockpit.runtime import build_runtime

    try:
        params = TextParams(parse_param(p) for p in args.params)
    except ValueError as exc:
        _print_err(str(exc))
        return EXIT_INVALID
    loaded = load(args)

    async def go() -> int:
        runtime = build_runtime(loaded, read_only=True if args.read_only else None)
        try:
            result = await runtime.dispatcher.invoke(args.name, params, actor=local_actor("cli"), confirmed=args.yes)
        except (UnknownAction, InvalidParams) as exc:
            _print_err(str(exc))
            return EXIT_INVALID
        except NeedsConfirmation as exc:
            target = await _target_text(runtime, args.name, params)
            _print_err(f"this will: {exc.text}" + (f"\ntarget: {target}" if target else "")
                       + "\nre-run with --yes to confirm")
            return EXIT_INVALID
        except ActionRefused as exc:
            _print_err(f"refused: {exc}")
            return EXIT_FAIL
        except ActionError as exc:
            _print_err(str(exc))
            return EXIT_FAIL
        finally:
            await runtime.close()
        if result.ok:
            print(json.dumps({"ok": True, "action": result.action, "result": result.outputs}, default=str))
            return EXIT_OK
        _print_err(f"{args.name} failed: {result.error}")
        return EXIT_FAIL

    return asyncio.run(go())


# -- the screen -----------------------------------------------------------------------------------
def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM") not in (None, "", "dumb")


def cmd_default(args: argparse.Namespace) -> int:
    if getattr(args, "record", None) and (args.run or args.resume):
        _print_err("--record: a plan run records on its own (recording.sqlite next to its reports)")
        return EXIT_INVALID
    if args.run or args.resume:
        try:
            plan_cli = importlib.import_module("cockpit.cli_plan")
        except ImportError:
            _print_err("plans are not available in this build")
            return EXIT_FAIL
        return int(plan_cli.run_plan_command(args))
    record_to = getattr(args, "record", None)
    if not interactive():
        if record_to:
            _print_err("--record: the screen records only in a terminal; headless: cockpit record --out FILE")
            return EXIT_INVALID
        args.format, args.sources, args.timeout = "table", None, args.timeout
        return cmd_snapshot(args)
    from cockpit import gc_pause

    gc_pause.pause_for_startup()  # until the first frame (the app resumes it): see cockpit/gc_pause.py
    from screens.app import run_app

    def make_runtime() -> Any:
        # Called by the screen once its first frame is drawn (screens/app.py): the config is
        # validated then, its warnings shown on screen, an error printed when the screen is gone.
        from cockpit.config import load_config
        from cockpit.runtime import build_runtime

        return build_runtime(load_config(args.config), read_only=True if args.read_only else None)

    return run_app(make_runtime, record_to=record_to)


def add_global_options(parser: argparse.ArgumentParser, default: Any = None) -> None:
    """The options every command takes, before or after the subcommand."""
    def value(normal: Any) -> Any:
        return normal if default is None else default

    parser.add_argument("--config", default=value(None),
                        help="config file (default: $COCKPIT_CONFIG, $XDG_CONFIG_HOME/cockpit/config.yaml, "
                             "embedded demo; with no config file LIBVIRT_DEFAULT_URI, KUBECONFIG, "
                             "MLFLOW_TRACKING_URI, SLURM_CONF / SLURMRESTD_URL replace the demo)")
    parser.add_argument("--read-only", action="store_true", default=value(False),
                        help="refuse every action above 'read' (refusals are audited)")
    parser.add_argument("--timeout", type=float, default=value(30.0), help="one-shot fetch timeout per source, seconds")
    parser.add_argument("-v", "--verbose", action="store_true", default=value(False))


class SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser also takes the global options (`cockpit inventory --config F`).
    Their default is SUPPRESS, so one given before the subcommand is not reset; an option the
    subcommand defines itself wins (conflict_handler='resolve')."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("conflict_handler", "resolve")
        super().__init__(*args, **kwargs)
        add_global_options(self, default=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    from cockpit.sources import SOURCE_NAMES

    parser = argparse.ArgumentParser(prog="cockpit", description="AI-HOW Cockpit: one screen for a GPU workstation's clusters.")
    add_global_options(parser)
    plan = parser.add_argument_group("headless plans")
    plan.add_argument("--run", metavar="PLAN", help="run a plan file headless and exit with its verdict")
    plan.add_argument("--dry-run", action="store_true", help="validate and show the plan's order; run nothing")
    plan.add_argument("--resume", metavar="STATE", help="continue a killed run from its state file")
    plan.add_argument("--report-dir", metavar="DIR", help="where the JSONL, JUnit XML and Markdown reports go")
    plan.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="set a plan variable")
    parser.add_argument("--record", metavar="FILE",
                        help="record the screen's snapshots into FILE while you work (● REC in the title; "
                             ":record stop ends it; cockpit replay FILE plays it back)")
    parser.set_defaults(func=cmd_default)

    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=SubcommandParser)
    snap = sub.add_parser("snapshot", help="print every source once (JSON contract or a table)")
    snap.add_argument("--format", choices=("json", "table"), default="json")
    snap.add_argument("--sources", help="comma-separated subset of: " + ",".join(SOURCE_NAMES))
    snap.add_argument("--at", metavar="TIME", help="from a recording: the state at TIME (ISO, or -10m from its end)")
    snap.add_argument("recording", nargs="?", metavar="FILE", help="a recording (cockpit record) to read with --at")
    snap.set_defaults(func=cmd_snapshot)
    from cockpit.cli_record import accept_relative_times

    accept_relative_times(snap)

    cfg = sub.add_parser("config", help="validate the config, print its JSON Schema")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    validate = cfg_sub.add_parser("validate", help="exit 0 if FILE is valid, 2 (with every problem) if not")
    validate.add_argument("file", nargs="?",
                          help="default: --config, $COCKPIT_CONFIG, the XDG config, the embedded default")
    validate.set_defaults(func=cmd_config_validate)
    cfg_sub.add_parser("schema", help="JSON Schema of the config").set_defaults(func=cmd_config_schema)
    cfg_sub.add_parser("path", help="which config file would be used").set_defaults(func=cmd_config_path)

    act = sub.add_parser("action", help="list or run actions (audited)")
    act_sub = act.add_subparsers(dest="action_command", metavar="SUBCOMMAND", required=True)
    act_sub.add_parser("list", help="every action with its danger level").set_defaults(func=cmd_action_list)
    run = act_sub.add_parser("run", help="run one action: cockpit action run vm.start name=hpc-compute-01 --yes")
    run.add_argument("name")
    run.add_argument("params", nargs="*", metavar="KEY=VALUE")
    run.add_argument("--yes", action="store_true", help="confirm an action that changes or destroys something")
    run.set_defaults(func=cmd_action_run)

    for module_name in SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage: our "invalid input" code too
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()  # no token, password or URL password in any log line
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        _print_err(exc.render())
        return EXIT_INVALID
    except KeyboardInterrupt:
        _print_err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
