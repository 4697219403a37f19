"""`cockpit status [--format table|json]`: one line per cluster of the config (VMs, scheduler,
storage, GPUs), from one fetch of the sources those clusters need (cockpit/oneshot.py), decided
in cockpit/cluster_status.py. Exit 0 when every cluster is healthy, 1 when any is not, 2 when
the config has no `clusters:`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from cockpit.cluster_status import ClusterStatus

HEADERS = ("CLUSTER", "KIND", "STATUS", "VMS", "SCHEDULER", "STORAGE", "GPUS")


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("status", help="one line per cluster: VMs, scheduler, storage, GPUs (exit 1 if any unhealthy)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def table(rows: Sequence[ClusterStatus]) -> str:
    cells = [HEADERS] + [(s.name, s.kind, s.level, s.vms.text, s.scheduler.text, s.storage.text, s.gpus.text)
                         for s in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(HEADERS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def run(args: argparse.Namespace) -> int:
    from cockpit import cluster_status, oneshot
    from cockpit.cli import EXIT_FAIL, EXIT_INVALID, EXIT_OK, load
    from cockpit.redact import scrub

    loaded = load(args)
    config = loaded.config
    if config.clusters.hpc is None and config.clusters.cloud is None:
        print(f"status: the config {loaded.path or '(embedded)'} has no clusters: section "
              "(clusters -> hpc / clusters -> cloud)", file=sys.stderr)
        return EXIT_INVALID
    sources = cluster_status.sources_for(config)
    snapshots = oneshot.fetch(loaded, sources, args.timeout)
    rows = cluster_status.statuses(config, snapshots)
    healthy = cluster_status.all_healthy(rows)
    if args.format == "json":
        text = json.dumps({"healthy": healthy, "clusters": [s.as_json() for s in rows]}, indent=2)
    else:
        text = table(rows)
    print(scrub(text, assignments=False))
    return EXIT_OK if healthy else EXIT_FAIL
