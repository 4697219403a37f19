"""Run Oumi's own CLI (`oumi train`, `oumi evaluate`) as a cockpit workload: one MLflow run per
job, tagged like every workload (slurm_job_id, plan, plan_step), holding what Oumi wrote.

    python -m workloads.oumi_run train -c DIR/train.yaml --experiment mlops-3.1
    python -m workloads.oumi_run evaluate -c DIR/eval-base.yaml -c DIR/eval-tuned.yaml --experiment mlops-3.2

train: validates the config with Oumi (workloads.oumi_config.validate_file), runs `oumi train -c`,
then reads the trainer_state.json Oumi saves in the config's output_dir: the first and last logged
training loss (loss_drop = first - last), train_runtime, samples/s and the Oumi version go to MLflow.
evaluate: runs `oumi evaluate -c` once per config and logs every numeric result Oumi saved
(<output_dir>/*/task_result.json) prefixed by the config's name after `eval-` (eval-base.yaml ->
base_perplexity); with exactly two configs, perplexity_drop and mean_nll_drop = first - second
as well (lower is better for both).

The `oumi` executable is the one beside this Python (its venv), else the first on PATH.
Exit status: 0 ok, 1 Oumi failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import yaml

from workloads.common.cli import add_tracking_args
from workloads.common.device import WorkloadError
from workloads.common.tracking import Tracker

DROP_METRICS = ("perplexity", "mean_nll")  # workloads/oumi_eval.py's quality figures, lower is better


def oumi_executable() -> str:
    beside = Path(sys.executable).with_name("oumi")
    found = str(beside) if beside.is_file() else shutil.which("oumi")
    if not found:
        raise WorkloadError(f"no `oumi` executable beside {sys.executable} or on PATH: install the oumi package")
    return found


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise WorkloadError(f"-c {path}: {exc}") from None
    if not isinstance(config, dict):
        raise WorkloadError(f"-c {path}: not a mapping")
    return config


def run_oumi(verb: str, config: Path) -> float:
    """`oumi VERB -c CONFIG`, its output passed through; returns the wall time."""
    env = dict(os.environ)
    env.setdefault("DO_NOT_TRACK", "1")  # Oumi's usage telemetry (PostHog) off unless asked for
    deps = config.with_name("oumi-extra-deps.txt")
    if deps.is_file():  # written by workloads.oumi_prepare: loads the cockpit's custom evaluation
        env.setdefault("OUMI_EXTRA_DEPS_FILE", str(deps))
    command = [oumi_executable(), verb, "-c", str(config)]
    print("+ " + " ".join(command), flush=True)
    started = time.monotonic()
    proc = subprocess.run(command, env=env, check=False)
    took = time.monotonic() - started
    if proc.returncode != 0:
        raise OumiFailed(f"`oumi {verb} -c {config}` exited with status {proc.returncode} after {took:.0f} s")
    return took


class OumiFailed(Exception):
    pass


def training_figures(state_file: Path) -> dict[str, float]:
    """First and last logged loss and the end-of-training summary from HF's trainer_state.json."""
    try:
        history = json.loads(state_file.read_text())["log_history"]
    except (OSError, ValueError, KeyError) as exc:
        raise WorkloadError(f"{state_file}: no training log ({exc})") from None
    losses = [(e["step"], float(e["loss"])) for e in history if "loss" in e and "step" in e]
    if not losses:
        raise WorkloadError(f"{state_file}: no training loss was logged")
    figures = {"first_loss": losses[0][1], "final_loss": losses[-1][1], "loss_drop": losses[0][1] - losses[-1][1],
               "logged_steps": float(losses[-1][0])}
    summary = next((e for e in reversed(history) if "train_runtime" in e), {})
    for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss"):
        if isinstance(summary.get(key), (int, float)):
            figures[key] = float(summary[key])
    return figures


def evaluation_figures(output_dir: Path) -> dict[str, float]:
    results = sorted(output_dir.glob("*/task_result.json"))
    if not results:
        raise WorkloadError(f"{output_dir}: Oumi saved no task_result.json")
    figures: dict[str, float] = {}
    for result in results:
        for task in json.loads(result.read_text()).get("results", {}).values():
            figures.update({k: float(v) for k, v in task.items() if isinstance(v, (int, float))})
    return figures


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("oumi", "torch", "transformers", "trl"):
        try:
            out[f"{package}_version"] = version(package)
        except PackageNotFoundError:
            out[f"{package}_version"] = "not installed"
    return out


def train(args: argparse.Namespace, tracker: Tracker) -> None:
    from workloads.oumi_config import validate_file

    config_path = args.config[0]
    config = read_config(config_path)
    checked = validate_file(config_path)
    if checked["problems"]:
        raise WorkloadError("; ".join(checked["problems"]))
    training = config.get("training", {})
    tracker.log_params({**versions(), "config": str(config_path), "validated_by": checked["validated_by"],
                        "model_name": config.get("model", {}).get("model_name"),
                        "trainer_type": training.get("trainer_type"), "max_steps": training.get("max_steps"),
                        "per_device_train_batch_size": training.get("per_device_train_batch_size")})
    took = run_oumi("train", config_path)
    figures = {**training_figures(Path(training["output_dir"]) / "trainer_state.json"), "train_wall_s": took}
    tracker.log_metrics(figures)
    print(f"oumi train: loss {figures['first_loss']:.4f} -> {figures['final_loss']:.4f} in {took:.1f} s")


def evaluate(args: argparse.Namespace, tracker: Tracker) -> None:
    names = [p.stem.removeprefix("eval-") for p in args.config]
    if len(set(names)) != len(names):
        raise WorkloadError(f"-c: config names must differ after 'eval-' (got {names})")
    tracker.log_params({**versions(), "configs": ",".join(str(p) for p in args.config)})
    per_config: list[dict[str, float]] = []
    for name, path in zip(names, args.config):
        config = read_config(path)
        tracker.log_params({f"{name}_model": config.get("model", {}).get("model_name")})
        took = run_oumi("evaluate", path)
        figures = {**evaluation_figures(Path(config.get("output_dir", "output"))), "eval_wall_s": took}
        per_config.append(figures)
        tracker.log_metrics({f"{name}_{k}": v for k, v in figures.items()})
        print(f"oumi evaluate {name}: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(figures.items())))
    if len(per_config) == 2:
        first, second = per_config
        drops = {f"{k}_drop": first[k] - second[k] for k in DROP_METRICS if k in first and k in second}
        tracker.log_metrics(drops)
        print("oumi evaluate: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(drops.items())))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workloads.oumi_run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("verb", choices=("train", "evaluate"))
    p.add_argument("-c", "--config", type=Path, action="append", required=True,
                   help="Oumi config (train: one TrainingConfig; evaluate: one or two EvaluationConfigs)")
    # The tracking options every workload has (workloads/common/cli.py); Oumi's configs decide the rest.
    g = p.add_argument_group("tracking")
    add_tracking_args(g, experiment_default="cockpit-oumi-<verb>", no_mlflow_note="")
    g.add_argument("--metrics-json", type=Path, default=None, help="also write the figures to this file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb == "train" and len(args.config) != 1:
        parser.error("train takes exactly one -c")
    if args.verb == "evaluate" and len(args.config) > 2:
        parser.error("evaluate takes one or two -c")
    for path in args.config:
        if not path.is_file():
            parser.error(f"-c {path}: no such file")
    workload = f"oumi_{args.verb}"
    try:
        with Tracker(workload, enabled=not args.no_mlflow, tracking_uri=args.mlflow_uri, experiment=args.experiment,
                     run_name=args.run_name, metrics_path=args.metrics_json) as tracker:
            (train if args.verb == "train" else evaluate)(args, tracker)
    except WorkloadError as exc:
        print(f"oumi_run: error: {exc}", file=sys.stderr)
        return 2
    except OumiFailed as exc:
        print(f"oumi_run: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
