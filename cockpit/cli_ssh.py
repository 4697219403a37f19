"""`cockpit serve-ssh`: serve the screen to SSH clients (see cockpit/sshserve.py)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("serve-ssh", help="serve the cockpit screen to SSH clients (key auth, roles per key)")
    p.add_argument("--listen", default="127.0.0.1:2022", help="HOST:PORT (default 127.0.0.1:2022, loopback only)")
    p.add_argument("--authorized-keys", required=True, help="OpenSSH authorized_keys; option cockpit-role=viewer|operator")
    p.add_argument("--host-key", help="host key file (created once, mode 0600; default under $XDG_STATE_HOME/cockpit)")
    p.add_argument("--max-sessions", type=int, default=10)
    p.add_argument("--idle-timeout", type=float, default=1800.0, help="seconds without input before a session ends")
    p.add_argument("--low-bandwidth", action="store_true", help="slower status refresh, no mouse, no animations")
    p.set_defaults(func=run)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen: expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def run(args: argparse.Namespace) -> int:
    from cockpit import gc_pause

    gc_pause.pause_for_startup()  # resumed (collected once, frozen) before the first session: cockpit/gc_pause.py
    from cockpit.cli import load
    from cockpit.runtime import build_runtime
    from cockpit.sshserve import (AuthorizedKeysError, ServeOptions, SshCockpitServer, default_host_key_path,
                                  load_or_create_host_key, parse_authorized_keys)

    try:
        host, port = parse_listen(args.listen)
        keys_path = Path(args.authorized_keys)
        keys = parse_authorized_keys(keys_path.read_text(), str(keys_path))
    except (ValueError, AuthorizedKeysError, OSError) as exc:
        print(f"serve-ssh: {exc}", file=sys.stderr)
        return 2
    loaded = load(args)

    async def serve() -> int:
        runtime = build_runtime(loaded, read_only=True if args.read_only else None)
        gc_pause.resume()
        server = SshCockpitServer(runtime, keys, load_or_create_host_key(Path(args.host_key) if args.host_key else default_host_key_path()),
                                  ServeOptions(max_sessions=args.max_sessions, idle_timeout=args.idle_timeout,
                                               low_bandwidth=args.low_bandwidth))
        bound = await server.start(host, port)
        print(f"cockpit serve-ssh on {host}:{bound}: {len(keys)} keys "
              f"({sum(k.role == 'operator' for k in keys.values())} operators)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()
        return 0

    return asyncio.run(serve())
