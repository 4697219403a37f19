"""`cockpit serve-metrics`: a Prometheus exporter over the hub's snapshots.

The hub runs its collectors as for the screen (same sources, refresh intervals and backoff,
polling with no viewer); a scrape only renders the snapshots already buffered
(cockpit/metrics_export.py), so ten Prometheus servers cost no extra fetch. Loopback only unless
--allow-remote is given: the metrics name VMs, users and jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys

DEFAULT_LISTEN = "127.0.0.1:9477"


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("serve-metrics", help="export GPU, VM, job, pod, storage and source metrics to Prometheus")
    p.add_argument("--listen", default=DEFAULT_LISTEN,
                   help=f"HOST:PORT (default {DEFAULT_LISTEN}; port 0 picks a free one; loopback only "
                        "unless --allow-remote)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback listen address (the metrics name VMs, users and jobs)")
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(text: str, allow_remote: bool) -> tuple[str, int]:
    """HOST:PORT, refused (ValueError naming the option) when not loopback and not allowed."""
    from cockpit.cli_ssh import parse_listen

    host, port = parse_listen(text)
    if not allow_remote and not is_loopback(host):
        raise ValueError(f"--listen {text}: {host} is not a loopback address; add --allow-remote to export "
                         "metrics beyond this machine")
    return host, port


def run(args: argparse.Namespace) -> int:
    from cockpit.cli import EXIT_INVALID, load

    try:
        host, port = check_listen(args.listen, args.allow_remote)
    except ValueError as exc:
        print(f"serve-metrics: {exc}", file=sys.stderr)
        return EXIT_INVALID
    loaded = load(args)
    return asyncio.run(serve(loaded, host, port))


async def serve(loaded: object, host: str, port: int) -> int:
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    from backends.libvirt.connection import forget_connections
    from cockpit.gpu_map import vm_places
    from cockpit.metrics_export import SnapshotCollector
    from cockpit.runtime import build_runtime

    runtime = build_runtime(loaded, read_only=True, always=True)  # type: ignore[arg-type]
    registry = CollectorRegistry(auto_describe=False)
    # the cluster config's VM -> node naming lets GPU series name the job or pod on each GPU
    registry.register(SnapshotCollector(runtime.hub.snapshots, vm_places(runtime.config)))

    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            print(f"serve-metrics: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        bound = runner.addresses[0][1] if runner.addresses else port
        runtime.hub.start()
        shown = f"[{host}]" if ":" in host else host
        print(f"cockpit serve-metrics on http://{shown}:{bound}/metrics", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await runner.cleanup()
        await runtime.close()
        forget_connections()
