"""Benchmark: tokens/s and model-FLOPs utilization of the LM training step (finetune_lm --bench).

    python benchmarks/workloads_lm.py                          # GPU: gpt2-small, bf16, compiled
    python benchmarks/workloads_lm.py --model-dir /models/SmolLM-135M
    python benchmarks/workloads_lm.py -- --batch-size 32       # anything after -- goes to the program

MFU = tokens/s x FLOPs/token / peak bf16 FLOP/s (formula in workloads/common/flops.py). On CPU
there is no peak to divide by, so MFU prints None unless --peak-tflops is passed through.
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", default=None)
    args, extra = p.parse_known_args()
    extra = [a for a in extra if a != "--"]
    import torch

    gpu = torch.cuda.is_available()
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    if gpu:
        model = ["--model-dir", args.model_dir, "--seq-len", "2048"] if args.model_dir else ["--preset", "gpt2-small"]
        defaults = [*model, "--steps", "40", "--warmup-steps", "10", "--batch-size", "16", "--precision", "bf16", "--compile"]
    else:
        env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
        model = ["--model-dir", args.model_dir] if args.model_dir else ["--preset", "mini"]
        defaults = [*model, "--steps", "12", "--warmup-steps", "2", "--batch-size", "8"]
    out = tempfile.mkdtemp(prefix="bench-lm-")
    cmd = [sys.executable, "-m", "workloads.finetune_lm", "--no-mlflow", "--no-log-model", "--bench",
           "--output-dir", out, *defaults, *extra]
    print("$ " + shlex.join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            print(line)
    if proc.returncode:
        print(proc.stderr[-2000:], file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
