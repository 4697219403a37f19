"""Stage a training data set on shared storage before the training job starts.

    python -m workloads.stage_data --source digits --out /mnt/beegfs/datasets/digits-idx
    python -m workloads.stage_data --source present --out /mnt/beegfs/datasets/mnist

`--source digits` writes scikit-learn's bundled digits (nothing is downloaded) as train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
t10k-labels-idx1-ubyte (8x8 uint8 images, 0-16 scaled to 0-255; a stratified 80/20 split) so the
training workloads read them with `--data DIR` exactly as they read MNIST. `--source present`
writes nothing: it checks that DIR already holds a readable MNIST IDX set (real MNIST on BeeGFS)
and says how many images. The plans run it as their first SLURM job.
Exit status: 0 ok, 2 bad input (the directory cannot be written, or the data set is not there).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workloads.stage_data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="directory of the IDX files")
    p.add_argument("--source", choices=("digits", "present"), default="digits",
                   help="digits: write sklearn's digits there; present: check an IDX set is already there")
    p.add_argument("--seed", type=int, default=0, help="split seed")
    return p


def stage(out: Path, seed: int = 0) -> dict[str, int]:
    """Write the four IDX files into `out`; returns how many train and test images."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from workloads.common.idx import write_idx

    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    tr_x, te_x, tr_y, te_y = train_test_split(images, labels, test_size=0.2, random_state=seed, stratify=labels)
    out.mkdir(parents=True, exist_ok=True)
    for name, array in (("train-images-idx3-ubyte", tr_x), ("train-labels-idx1-ubyte", tr_y),
                        ("t10k-images-idx3-ubyte", te_x), ("t10k-labels-idx1-ubyte", te_y)):
        write_idx(out / name, array)
    return {"train": len(tr_x), "test": len(te_x)}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.source == "present":
        from workloads.common.cli import WorkloadError
        from workloads.common.image_data import load_mnist

        if not args.out.is_dir():
            print(f"stage_data: error: --out {args.out}: no data set there (not a directory); stage one first "
                  "or use --source digits", file=sys.stderr)
            return 2
        try:
            data = load_mnist(args.out)
        except WorkloadError as exc:  # load_mnist names its argument --data: here it is --out
            print(f"stage_data: error: {str(exc).replace('--data ', '--out ', 1)}", file=sys.stderr)
            return 2
        print(f"data set present in {args.out}: {len(data.train_y)} train, {len(data.test_y)} test images")
        return 0
    try:
        counts = stage(args.out, args.seed)
    except OSError as exc:
        print(f"stage_data: error: --out {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"staged digits in {args.out}: {counts['train']} train, {counts['test']} test images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
