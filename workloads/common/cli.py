"""Command-line options every workload shares, and the common main() wrapper."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from workloads.common.device import WorkloadError
from workloads.common.tracking import Tracker, default_output_dir


def add_tracking_args(g: Any, experiment_default: str = "cockpit-<workload>",
                      no_mlflow_note: str = " (metrics.json is still written)") -> None:
    """The MLflow options every workload takes (on a parser or an argument group)."""
    g.add_argument("--mlflow-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                   help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else MLflow's own default)")
    g.add_argument("--experiment", default=os.environ.get("MLFLOW_EXPERIMENT_NAME"),
                   help=f"MLflow experiment (default: $MLFLOW_EXPERIMENT_NAME, else {experiment_default})")
    g.add_argument("--run-name", default=None, help="MLflow run name")
    g.add_argument("--no-mlflow", action="store_true", help=f"do not log to MLflow{no_mlflow_note}")


def add_common_args(parser: argparse.ArgumentParser, *, device: bool = True) -> None:
    g = parser.add_argument_group("tracking and outputs")
    add_tracking_args(g)
    g.add_argument("--output-dir", type=Path, default=None,
                   help="where outputs go (default: $COCKPIT_OUTPUT_DIR, else ./outputs/<workload>[-<SLURM_JOB_ID>])")
    g.add_argument("--metrics-json", type=Path, default=None, help="metrics file (default: <output-dir>/metrics.json)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--bench", action="store_true", help="print benchmark figures as `BENCH key=value ...` lines")
    if device:
        d = parser.add_argument_group("device")
        d.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (auto: cuda:$LOCAL_RANK if present)")
        d.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                       help="auto: bf16 autocast on GPUs that support it, else fp32")
        d.add_argument("--compile", action="store_true", help="torch.compile the model (first steps are slower)")


def resolve_outputs(args: argparse.Namespace, workload: str) -> None:
    args.output_dir = args.output_dir or default_output_dir(workload)
    args.metrics_json = args.metrics_json or (args.output_dir / "metrics.json")


def tracker_for(args: argparse.Namespace, workload: str, *, enabled: bool = True) -> Tracker:
    return Tracker(
        workload,
        enabled=enabled and not args.no_mlflow,
        tracking_uri=args.mlflow_uri,
        experiment=args.experiment,
        run_name=args.run_name,
        metrics_path=args.metrics_json if enabled else None,
    )


def bench_line(workload: str, figures: dict[str, object]) -> str:
    def fmt(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return "BENCH " + " ".join([f"workload={workload}"] + [f"{k}={fmt(v)}" for k, v in figures.items()])


def run_main(prog: str, body: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Bad input -> one clear line on stderr and exit 2; anything else propagates (traceback)."""
    try:
        return body(argv)
    except WorkloadError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
