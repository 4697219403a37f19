"""`cockpit record`, `cockpit replay FILE` and `cockpit snapshot --at TIME FILE`.

    cockpit record [--out FILE] [--window 48h] [--max-size 64MiB] [--for 10m]
    cockpit replay FILE [--at TIME]
    cockpit snapshot --at TIME FILE [--format json|table] [--sources a,b]

Exit codes: 0 ok, 1 failure, 2 invalid input (a bad size, time or a file that is not a
recording), 3 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cockpit import paths
from cockpit.recorder import Limits, Recording, RecordingError, fmt_time, parse_duration, parse_size, parse_when

EXIT_OK, EXIT_FAIL, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 3


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def add_parser(subparsers: Any) -> None:
    record = subparsers.add_parser("record", help="record every source headless into a bounded SQLite file")
    record.add_argument("--out", metavar="FILE",
                        help="recording file (default: $XDG_DATA_HOME/cockpit/recordings/<time>.sqlite); "
                             "an existing recording is appended to")
    record.add_argument("--window", default="48h", help="keep this much history (default 48h)")
    record.add_argument("--max-size", default="64MiB", help="disk cap of the file (default 64MiB)")
    record.add_argument("--for", dest="duration", metavar="DURATION", help="stop after this long (default: until Ctrl-C)")
    record.add_argument("--sources", help="comma-separated subset of the sources")
    record.set_defaults(func=cmd_record)

    replay = subparsers.add_parser("replay", help="the screen over a recording (read-only)")
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--at", metavar="TIME", help="start at this moment (ISO or relative to the end: -10m)")
    replay.set_defaults(func=cmd_replay)
    accept_relative_times(replay)


def accept_relative_times(parser: argparse.ArgumentParser) -> None:
    """Let `--at -10m` through: argparse takes a value starting with '-' for an option unless it
    looks like a negative number, and what looks like one is a regex on the parser (CPython
    3.8-3.13: `_negative_number_matcher`). `--at=-10m` works regardless."""
    import re

    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = re.compile(r"^-\d+(\.\d+)?[smhd]?$|^-\.\d+$")


def default_out() -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return paths.data_dir() / "recordings" / f"cockpit-{stamp}.sqlite"


def _sources(text: str | None) -> tuple[str, ...]:
    from cockpit.sources import SOURCE_NAMES

    if not text:
        return SOURCE_NAMES
    sources = tuple(s.strip() for s in text.split(","))
    unknown = [s for s in sources if s not in SOURCE_NAMES]
    if unknown:
        raise ValueError(f"--sources: unknown source {unknown[0]!r} (known: {', '.join(SOURCE_NAMES)})")
    return sources


# -- record ------------------------------------------------------------------------------------------
def cmd_record(args: argparse.Namespace) -> int:
    try:
        limits = Limits(window_s=parse_duration(args.window), max_bytes=parse_size(args.max_size))
        duration = parse_duration(args.duration) if args.duration else None
        sources = _sources(args.sources)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_INVALID
    from cockpit.cli import load

    loaded = load(args)
    out = Path(args.out) if args.out else default_out()
    try:
        recording = Recording.create_or_append(out, limits)
    except RecordingError as exc:
        _err(str(exc))
        return EXIT_INVALID
    except OSError as exc:
        _err(f"{out}: cannot write the recording ({exc.strerror or exc})")
        return EXIT_INVALID
    _err(f"recording to {out} (window {args.window}, cap {args.max_size}); Ctrl-C stops")
    with recording:
        asyncio.run(_record(loaded, recording, sources, duration))
    _err(f"stopped: {out} holds {recording_summary(out)}")
    return EXIT_OK  # Ctrl-C is how a recording without --for ends


async def _record(loaded: Any, recording: Recording, sources: tuple[str, ...], duration: float | None) -> None:
    """Poll every source as the screen would, until the duration ends or a signal comes."""
    from cockpit.recorder_tap import HubTap
    from cockpit.runtime import build_runtime

    runtime = build_runtime(loaded, always=True, sources=sources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tap = HubTap(runtime.hub, recording)
    tap.start()
    try:
        runtime.hub.start()
        try:
            await asyncio.wait_for(stop.wait(), duration)
        except asyncio.TimeoutError:
            pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await runtime.close()
        await tap.stop()


def recording_summary(path: Path) -> str:
    try:
        with Recording.open(path) as rec:
            span = rec.span()
            size = rec.size_bytes()
    except RecordingError as exc:
        return f"nothing readable ({exc})"
    if span is None:
        return "nothing yet"
    return f"{fmt_time(span[0])} .. {fmt_time(span[1])}, {size / 1024:.0f} KiB"


# -- snapshot --at -----------------------------------------------------------------------------------
def cmd_snapshot_at(args: argparse.Namespace) -> int:
    """`cockpit snapshot --at TIME FILE`: the state a recording holds at that moment."""
    if not args.at or not args.recording:
        _err("snapshot: --at TIME and a recording FILE go together (cockpit snapshot --at -10m rec.sqlite)")
        return EXIT_INVALID
    try:
        sources = _sources(args.sources)
        with Recording.open(args.recording) as rec:
            span = rec.span()
            if span is None:
                raise RecordingError(f"{args.recording}: the recording is empty")
            # relative times count back from the recording's end, not from now
            moment = parse_when(args.at, now=span[1])
            snapshots = rec.snapshots_at(moment)
    except (ValueError, RecordingError) as exc:
        _err(str(exc))
        return EXIT_INVALID
    snapshots = {name: snap for name, snap in snapshots.items() if name in sources}
    from cockpit import oneshot
    from cockpit.redact import scrub

    if args.format == "json":
        text = oneshot.dumps(snapshots)
    else:
        from screens.text_table import render_snapshots

        shown_at = datetime.fromtimestamp(moment, timezone.utc)  # ages count from the recorded moment
        table = render_snapshots(snapshots, now=shown_at)
        text = f"recorded at {fmt_time(moment)} in {args.recording}\n" + scrub(table, assignments=False)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


# -- replay ------------------------------------------------------------------------------------------
def cmd_replay(args: argparse.Namespace) -> int:
    try:
        recording = Recording.open(args.file)
        stepper = recording.stepper()
        if args.at:
            stepper.jump(parse_when(args.at, now=stepper.moments[-1]))
    except (ValueError, RecordingError) as exc:
        _err(str(exc))
        return EXIT_INVALID
    from cockpit.cli import interactive, load

    if not interactive():
        _err("replay needs a terminal; for a moment as text: cockpit snapshot --at TIME FILE --format table")
        return EXIT_INVALID
    from screens.replay import run_replay

    return run_replay(load(args), stepper)
