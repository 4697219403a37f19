"""Benchmark: time to target accuracy and images/s of the classifier (train_classifier --bench).

    python benchmarks/workloads_classifier.py                      # digits, target 97%
    python benchmarks/workloads_classifier.py --data /mnt/beegfs/datasets/mnist   # MNIST, target 99%
    python benchmarks/workloads_classifier.py --ddp 2              # + train_ddp on N local processes

Extra arguments go to the program. Prints the program's `BENCH ...` lines and the command used.
On a GPU the defaults use bigger batches; on CPU OMP_NUM_THREADS defaults to 1 (see tests/workloads/conftest.py).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(cmd: list[str], env: dict[str, str]) -> int:
    print("$ " + shlex.join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            print(line)
    if proc.returncode:
        print(proc.stderr[-2000:], file=sys.stderr)
    return proc.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None)
    p.add_argument("--ddp", type=int, default=0, help="also run train_ddp with this many local processes")
    args, extra = p.parse_known_args()
    import torch

    gpu = torch.cuda.is_available()
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    if not gpu:
        env.setdefault("OMP_NUM_THREADS", "1")
    defaults = (["--batch-size", "512", "--lr", "1e-2"] if gpu else ["--batch-size", "64", "--lr", "5e-3", "--width", "16"])
    out = tempfile.mkdtemp(prefix="bench-classifier-")
    common = ["--no-mlflow", "--bench", "--output-dir", out, *defaults, *(["--data", args.data] if args.data else []), *extra]
    rc = run([sys.executable, "-m", "workloads.train_classifier", "--stop-at-target", *common], env)
    if args.ddp:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(args.ddp)]
        rc |= run([*launcher, "-m", "workloads.train_ddp", *common], env)
    return rc


if __name__ == "__main__":
    sys.exit(main())
