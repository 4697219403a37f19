"""`cockpit lab up|down|status`: a local Slurm sandbox on loopback (see cockpit/lab/slurm_lab.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cockpit.lab.slurm_lab import LabSpec


def _spec(args: argparse.Namespace) -> "LabSpec":
    from cockpit.lab.slurm_lab import LabSpec

    return LabSpec(root=Path(args.dir), nodes=args.nodes, gpus=args.gpus, base=args.base, release=args.release,
                   accounting=args.accounting, rest=args.rest,
                   config_path=Path(args.write_config) if args.write_config else None)


def cmd_up(args: argparse.Namespace) -> int:
    from cockpit.lab.slurm_lab import LabError, up

    try:
        info = up(_spec(args), progress=lambda m: print(f"lab: {m}", file=sys.stderr))
    except LabError as exc:
        print(f"lab up failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab up interrupted; everything it started was stopped", file=sys.stderr)
        return 3
    extras = ["accounting (sacct)" if info.accounting else None, f"slurmrestd {info.rest_url}" if info.rest_url else None,
              f"sshd 127.0.0.1:{info.ssh_port}" if info.ssh_port else None]
    where = f"in the chroot {info.chroot}" if info.chroot else "on the host"
    print(f"slurm {info.slurm_version or info.release} lab up {where} in {info.started_s:.1f} s: "
          f"{info.nodes} nodes x {info.gpus} fake GPUs" + "".join(f", {e}" for e in extras if e))
    for note in info.missing:
        print(f"  note: {note}")
    print(f"cockpit config: {info.config_path}")
    print(f"  cockpit --config {info.config_path}            # the screen")
    print(f"  cockpit --config {info.config_path} snapshot   # one-shot JSON")
    if info.chroot:
        print(f"  chroot {info.chroot} env SLURM_CONF={info.conf} squeue   # its own Slurm commands")
    else:
        print(f"  export SLURM_CONF={info.conf}                  # squeue, sbatch, ... against the lab")
    print(f"stop it: cockpit lab down --dir {info.root}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from cockpit.lab.slurm_lab import LabError, down

    try:
        stopped = down(Path(args.dir), config_path=Path(args.write_config) if args.write_config else None)
    except LabError as exc:
        print(f"lab down failed: {exc}", file=sys.stderr)
        return 1
    print(f"slurm lab in {args.dir} stopped ({len(stopped)} processes)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from cockpit.lab.slurm_lab import status

    state = status(Path(args.dir))
    if args.json:
        print(json.dumps(state, indent=2))
    else:
        print(f"lab {state['root']}: {'running' if state['running'] else 'stopped'} ({state['processes']} processes)")
        for name, d in state["daemons"].items():
            print(f"  {name:<22} pid {d['pid']}  {'alive' if d['alive'] else 'dead'}")
        for node in state["nodes"] or []:
            print("  " + "  ".join(node))
        info = state["info"] or {}
        if info.get("config_path"):
            print(f"cockpit config: {info['config_path']}")
    return 0 if state["running"] else 1


def cmd_record(args: argparse.Namespace) -> int:
    from cockpit.lab.record import record
    from cockpit.lab.slurm_lab import LabError

    try:
        files = record(args.release, Path(args.out), base=args.base,
                       progress=lambda m: print(f"lab: {m}", file=sys.stderr))
    except LabError as exc:
        print(f"lab record failed: {exc}", file=sys.stderr)
        return 1
    print(f"recorded Slurm {args.release} into {args.out}: {len(files)} files")
    return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from cockpit.lab.slurm_lab import DEFAULT_BASE, DEFAULT_ROOT, HOST_RELEASE, RELEASES

    lab = sub.add_parser("lab", help="a local Slurm sandbox on loopback (up, down, status)")
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dir", default=str(DEFAULT_ROOT), help=f"lab directory (default {DEFAULT_ROOT})")
        p.add_argument("--write-config", metavar="FILE",
                       help="cockpit config to write/remove (default $XDG_CONFIG_HOME/cockpit/lab.yaml)")

    up_p = lab_sub.add_parser("up", help="start controller, slurmd with fake GPUs, slurmdbd and slurmrestd")
    common(up_p)
    up_p.add_argument("--nodes", type=int, default=4)
    up_p.add_argument("--gpus", type=int, default=2, help="fake GPUs per node")
    up_p.add_argument("--release", choices=RELEASES, default=HOST_RELEASE,
                      help=f"Slurm release: {HOST_RELEASE} is the host's; the others run in a cached Debian chroot "
                           "(built with debootstrap on first use)")
    up_p.add_argument("--base", type=int, default=None,
                      help=f"port base (ports base+6 .. base+100+nodes; default: the first free one from {DEFAULT_BASE})")
    up_p.add_argument("--accounting", dest="accounting", action="store_true", default=None, help="require slurmdbd")
    up_p.add_argument("--no-accounting", dest="accounting", action="store_false")
    up_p.add_argument("--rest", dest="rest", action="store_true", default=None, help="require slurmrestd")
    up_p.add_argument("--no-rest", dest="rest", action="store_false")
    up_p.set_defaults(func=cmd_up)
    down_p = lab_sub.add_parser("down", help="stop every process of the lab (jobs included)")
    common(down_p)
    down_p.set_defaults(func=cmd_down)
    rec = lab_sub.add_parser("record", help="start a fresh lab, put a known job mix on it, save what Slurm "
                                            "prints (CLI --json and slurmrestd) into a folder, stop the lab")
    rec.add_argument("--release", choices=RELEASES, default=HOST_RELEASE)
    rec.add_argument("--out", required=True, help="folder to (re)write, e.g. tests/fixtures/slurm/recorded/24.11")
    rec.add_argument("--base", type=int, default=None, help="port base (default: the first free one)")
    rec.set_defaults(func=cmd_record)
    st = lab_sub.add_parser("status", help="which daemons run; exit 0 when the lab is up")
    common(st)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
