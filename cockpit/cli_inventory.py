"""`cockpit inventory`: the Ansible inventory generated from the config.

    cockpit inventory                      YAML on stdout
    cockpit inventory --format ini -o FILE INI written atomically to FILE
    cockpit inventory --no-live            configured IPs only (do not ask libvirt)

Warnings (nodes without an address, partitions without matching nodes) go to stderr.
Exit codes: 0 written, 2 the config cannot make an inventory, 1 the file cannot be written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from cockpit.inventory import FORMATS, InventoryError, InventoryOptions, build_inventory, live_ips_from_vms, render, write_inventory


def options_for(loaded: Any, live_ips: dict[str, tuple[str, ...]] | None = None) -> InventoryOptions:
    settings = loaded.config.cockpit.ansible
    return InventoryOptions(ssh_user=settings.ssh_user, ssh_key=settings.ssh_key,
                            python_interpreter=settings.python_interpreter, live_ips=live_ips or {})


async def fetch_live_ips(loaded: Any, timeout: float) -> tuple[dict[str, tuple[str, ...]], str | None]:
    """VM addresses from one fetch of the `vms` source; (ips, problem) - never raises."""
    from cockpit.sources import build_source

    source = build_source("vms", loaded)
    try:
        result = await asyncio.wait_for(source.fetch(), timeout)
    except Exception as exc:  # unconfigured or unreachable libvirt: fall back to configured IPs
        return {}, f"live IPs unavailable ({str(exc).strip() or type(exc).__name__}); using configured IPs"
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            try:
                maybe = close()
                if asyncio.iscoroutine(maybe):
                    await maybe
            except Exception:
                pass
    return live_ips_from_vms(result.items.values()), None


def cmd_inventory(args: argparse.Namespace) -> int:
    from cockpit.cli import EXIT_FAIL, EXIT_INVALID, EXIT_OK, load

    loaded = load(args)
    live: dict[str, tuple[str, ...]] = {}
    if not args.no_live and loaded.config.cockpit.ansible.live_ips and (loaded.config.clusters.hpc or loaded.config.clusters.cloud):
        live, problem = asyncio.run(fetch_live_ips(loaded, args.timeout))
        if problem:
            print(f"warning: {problem}", file=sys.stderr)
    try:
        inventory = build_inventory(loaded.config, options_for(loaded, live))
        text = render(inventory, args.format)
    except InventoryError as exc:
        print(f"{loaded.path or 'config'}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for warning in inventory.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.output and args.output != "-":
        try:
            path = write_inventory(text, args.output)
        except OSError as exc:
            print(f"cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAIL
        print(f"wrote {path} ({len(inventory.hosts())} hosts, {args.format})", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("inventory", help="print or write the Ansible inventory generated from the config")
    parser.add_argument("--format", choices=FORMATS, default="yaml")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE atomically instead of stdout")
    parser.add_argument("--no-live", action="store_true", help="use configured IPs only; do not ask libvirt")
    parser.set_defaults(func=cmd_inventory)
