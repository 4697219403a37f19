"""Single-GPU image classifier (MLOPS-1.1): MNIST IDX files from --data, else sklearn digits.

    python -m workloads.train_classifier --data /mnt/beegfs/datasets/mnist --epochs 5
    python -m workloads.train_classifier                # bundled digits, nothing downloaded

Logs params, per-epoch metrics and the model to MLflow; writes <output-dir>/metrics.json.
Exit status: 0 ok, 1 target accuracy given with --require-target and not reached, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

WORKLOAD = "train_classifier"


def build_parser() -> argparse.ArgumentParser:
    from workloads.common.cli import add_common_args

    p = argparse.ArgumentParser(prog="python -m workloads.train_classifier", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None,
                   help="directory with MNIST IDX files (train-images-idx3-ubyte[.gz] ...); default: sklearn digits")
    p.add_argument("--epochs", type=int, default=None, help="default: 30 on digits, 6 on MNIST")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=32, help="channels of the first conv layer")
    p.add_argument("--target-accuracy", type=float, default=None,
                   help="record time to this test accuracy (default: 0.97 digits, 0.99 MNIST)")
    p.add_argument("--stop-at-target", action="store_true", help="stop training once the target is reached")
    p.add_argument("--require-target", action="store_true", help="exit 1 if the target accuracy is not reached")
    p.add_argument("--limit-train", type=int, default=None, help="use only the first N training images (MNIST)")
    p.add_argument("--limit-test", type=int, default=None, help="use only the first N test images (MNIST)")
    p.add_argument("--no-log-model", action="store_true", help="skip logging the model to MLflow")
    add_common_args(p)
    return p


def validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    for name in ("epochs", "batch_size", "width", "limit_train", "limit_test"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1 (got {value})")
    if args.lr <= 0:
        parser.error(f"--lr must be > 0 (got {args.lr})")
    if args.target_accuracy is not None and not 0 < args.target_accuracy <= 1:
        parser.error(f"--target-accuracy must be in (0, 1] (got {args.target_accuracy})")


def main(argv: Sequence[str] | None = None) -> int:
    from workloads.common.cli import run_main

    return run_main("train_classifier", _main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    validate(args, parser)

    import torch

    from workloads.common import device as dev
    from workloads.common.classifier import SmallCNN, count_correct, train
    from workloads.common.cli import bench_line, resolve_outputs, tracker_for
    from workloads.common.image_data import load_image_data

    resolve_outputs(args, WORKLOAD)
    device = dev.pick_device(args.device)
    precision = dev.resolve_precision(args.precision, device)
    dev.setup_backend(device)
    dev.seed_everything(args.seed)
    # Everything that can fail on input is checked before the MLflow run exists.
    data = load_image_data(args.data, args.seed, args.limit_train, args.limit_test)
    epochs = args.epochs or (30 if data.name == "digits" else 6)
    target = args.target_accuracy or (0.97 if data.name == "digits" else 0.99)

    pin = device.type == "cuda"
    def to_dev(a, dtype=None):  # one copy of the whole set, pinned for an async DMA
        t = torch.from_numpy(a)
        return (t.pin_memory() if pin else t).to(device, non_blocking=True)
    train_x, train_y = to_dev(data.train_x), to_dev(data.train_y)
    test_x, test_y = to_dev(data.test_x), to_dev(data.test_y)

    model = SmallCNN(data.num_classes, width=args.width, mean=data.mean, std=data.std).to(device)
    run_model = dev.maybe_compile(model, args.compile)
    amp = lambda: dev.autocast(precision, device)  # noqa: E731
    n_params = sum(p.numel() for p in model.parameters())

    tracker = tracker_for(args, WORKLOAD)
    with tracker:
        tracker.log_params({
            "dataset": data.name, "data_source": data.source, "train_size": len(data.train_y),
            "test_size": len(data.test_y), "image_shape": "x".join(map(str, data.image_shape)),
            "epochs": epochs, "batch_size": args.batch_size, "lr": args.lr, "width": args.width,
            "optimizer": "adamw+onecycle", "precision": precision, "compile": args.compile,
            "device": str(device), "target_accuracy": target, "seed": args.seed, "n_params": n_params,
        })
        tracker.set_info(device_name=dev.device_description(device), output_dir=str(args.output_dir))

        def evaluate() -> float:
            return count_correct(run_model, test_x, test_y, 1024, amp) / len(test_y)

        def on_epoch(r) -> None:
            tracker.log_metrics({"train_loss": r.train_loss, "test_accuracy": r.test_accuracy,
                                 "elapsed_s": r.elapsed_seconds}, step=r.epoch)
            print(f"epoch {r.epoch:3d}  loss {r.train_loss:.4f}  test_acc {r.test_accuracy:.4f}  "
                  f"t {r.elapsed_seconds:.2f}s", flush=True)

        outcome = train(run_model, train_x, train_y, epochs=epochs, batch_size=args.batch_size, lr=args.lr,
                        amp=amp, evaluate=evaluate, sync=lambda: dev.synchronize(device),
                        target_accuracy=target, stop_at_target=args.stop_at_target, seed=args.seed,
                        on_epoch=on_epoch)
        final = outcome.final
        summary = {
            "final_test_accuracy": final.test_accuracy,
            "best_test_accuracy": outcome.best_accuracy,
            "final_train_loss": final.train_loss,
            "epochs_run": final.epoch,
            "train_time_s": final.train_seconds,
            "wall_time_s": final.elapsed_seconds,
            "images_per_s": final.images / final.train_seconds if final.train_seconds else None,
            "time_to_target_s": outcome.time_to_target_s,
            "epoch_reached_target": outcome.epoch_reached_target,
            "target_reached": 1.0 if outcome.time_to_target_s is not None else 0.0,
        }
        tracker.log_metrics(summary)
        if not args.no_log_model:
            model.eval()
            tracker.log_torch_model(model.float().cpu(), data.test_x[:4])
        if args.bench:
            print(bench_line(WORKLOAD, {"device": tracker.info["device_name"].replace(" ", "_"),
                                        "dataset": data.name, "precision": precision,
                                        "target": target, **summary}))
    print(f"final test accuracy {final.test_accuracy:.4f}; metrics in {args.metrics_json}"
          + (f"; mlflow run {tracker.run_id}" if tracker.run_id else ""))
    if args.require_target and outcome.time_to_target_s is None:
        print(f"train_classifier: target accuracy {target} not reached (best {outcome.best_accuracy:.4f})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
