"""Data-parallel training (MLOPS-2.1): the classifier on N GPUs / nodes with DistributedDataParallel.

Launch with torchrun or srun (the rank comes from their environment; see common/dist.py):

    torchrun --nnodes 2 --nproc-per-node 4 --rdzv-backend c10d --rdzv-endpoint $HEAD:29500 \
        -m workloads.train_ddp --data /mnt/beegfs/datasets/mnist
    srun --ntasks-per-node 4 --gpus-per-task 1 python -m workloads.train_ddp --data ...

NCCL on GPUs, gloo on CPU (--backend overrides). Rank 0 logs to MLflow and writes metrics.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Sequence

WORKLOAD = "train_ddp"


def build_parser() -> argparse.ArgumentParser:
    from workloads.common.cli import add_common_args

    p = argparse.ArgumentParser(prog="python -m workloads.train_ddp", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="directory with MNIST IDX files; default: sklearn digits")
    p.add_argument("--epochs", type=int, default=None, help="default: 30 on digits, 6 on MNIST")
    p.add_argument("--batch-size", type=int, default=128, help="per-process batch size")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--target-accuracy", type=float, default=None)
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--limit-test", type=int, default=None)
    p.add_argument("--backend", choices=("auto", "nccl", "gloo"), default="auto", help="auto: nccl on GPUs, else gloo")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for all ranks to join")
    p.add_argument("--no-log-model", action="store_true")
    p.add_argument("--baseline-images-per-s", type=float, default=None,
                   help="throughput of the same training on one process (a world-size-1 run's images_per_s): "
                        "logs scaling_efficiency = images_per_s / (world_size x baseline)")
    add_common_args(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from workloads.common.cli import run_main

    return run_main("train_ddp", _main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "width", "limit_train", "limit_test"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1 (got {value})")
    if args.baseline_images_per_s is not None and not args.baseline_images_per_s > 0:
        parser.error(f"--baseline-images-per-s must be > 0 (got {args.baseline_images_per_s})")

    import torch
    import torch.distributed as torch_dist

    from workloads.common import device as dev
    from workloads.common.cli import resolve_outputs
    from workloads.common.dist import detect
    from workloads.common.image_data import load_image_data

    denv = detect(os.environ)
    resolve_outputs(args, WORKLOAD)
    if args.device == "auto" and torch.cuda.is_available():
        device = torch.device("cuda", denv.local_rank % torch.cuda.device_count())
    else:
        device = dev.pick_device(args.device)
    backend = args.backend if args.backend != "auto" else ("nccl" if device.type == "cuda" else "gloo")
    if backend == "nccl" and device.type != "cuda":
        raise dev.WorkloadError("--backend nccl needs a CUDA device (use gloo on CPU)")
    precision = dev.resolve_precision(args.precision, device)
    dev.setup_backend(device)
    dev.seed_everything(args.seed)  # same seed on every rank: identical initial weights
    data = load_image_data(args.data, args.seed, args.limit_train, args.limit_test)
    epochs = args.epochs or (30 if data.name == "digits" else 6)
    target = args.target_accuracy or (0.97 if data.name == "digits" else 0.99)

    # Under torchrun the agent already hosts the rendezvous store on MASTER_PORT: join it (env://).
    init = "env://" if denv.launcher == "torchrun" else f"tcp://{denv.master_addr}:{denv.master_port}"
    torch_dist.init_process_group(
        backend, init_method=init, rank=denv.rank,
        world_size=denv.world_size, timeout=datetime.timedelta(seconds=args.timeout),
        **({"device_id": device} if device.type == "cuda" else {}),
    )
    try:
        rc = _train(args, denv, device, backend, precision, data, epochs, target)
        # Leave together: a rank that closes its gloo sockets while rank 0 still logs can abort the peer.
        torch_dist.barrier()
        return rc
    finally:
        torch_dist.destroy_process_group()


def _train(args, denv, device, backend, precision, data, epochs, target) -> int:
    import torch
    import torch.distributed as torch_dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from workloads.common import device as dev
    from workloads.common.classifier import SmallCNN, count_correct, train
    from workloads.common.cli import bench_line, tracker_for

    pin = device.type == "cuda"
    def to_dev(a):
        t = torch.from_numpy(a)
        return (t.pin_memory() if pin else t).to(device, non_blocking=True)
    train_x, train_y = to_dev(data.train_x), to_dev(data.train_y)
    test_x, test_y = to_dev(data.test_x), to_dev(data.test_y)

    model = SmallCNN(data.num_classes, width=args.width, mean=data.mean, std=data.std).to(device)
    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    run_model = dev.maybe_compile(ddp, args.compile)
    amp = lambda: dev.autocast(precision, device)  # noqa: E731
    world = denv.world_size

    def all_sum(value: float) -> float:
        t = torch.tensor([value], dtype=torch.float64, device=device)
        torch_dist.all_reduce(t)
        return float(t.item())

    def evaluate() -> float:
        # Each rank scores a strided slice of the test set; the counts are summed.
        xs, ys = test_x[denv.rank::world], test_y[denv.rank::world]
        return all_sum(count_correct(model, xs, ys, 1024, amp)) / len(test_y)

    tracker = tracker_for(args, WORKLOAD, enabled=denv.is_main)
    with tracker:
        tracker.log_params({
            "dataset": data.name, "data_source": data.source, "train_size": len(data.train_y),
            "epochs": epochs, "batch_size_per_process": args.batch_size,
            "global_batch_size": args.batch_size * world, "lr": args.lr, "width": args.width,
            "world_size": world, "launcher": denv.launcher, "backend": backend, "precision": precision,
            "compile": args.compile, "device": device.type, "target_accuracy": target, "seed": args.seed,
            "master_addr": denv.master_addr, "master_port": denv.master_port,
        })
        tracker.set_info(device_name=dev.device_description(device), output_dir=str(args.output_dir))

        def on_epoch(r) -> None:
            if denv.is_main:
                tracker.log_metrics({"train_loss": r.train_loss, "test_accuracy": r.test_accuracy,
                                     "elapsed_s": r.elapsed_seconds}, step=r.epoch)
                print(f"epoch {r.epoch:3d}  loss {r.train_loss:.4f}  test_acc {r.test_accuracy:.4f}  "
                      f"t {r.elapsed_seconds:.2f}s", flush=True)

        torch_dist.barrier()  # rank 0's MLflow setup must not count as other ranks' training time
        outcome = train(run_model, train_x, train_y, epochs=epochs, batch_size=args.batch_size, lr=args.lr,
                        amp=amp, evaluate=evaluate, sync=lambda: dev.synchronize(device),
                        target_accuracy=target, seed=args.seed, shard=(denv.rank, world),
                        on_epoch=on_epoch, reduce_loss=lambda v: all_sum(v) / world)
        final = outcome.final
        total_images = all_sum(final.images)
        slowest = _max(final.train_seconds, device)
        # Parameters must be bit-identical across ranks after DDP training; check it cheaply.
        checksum = sum(float(p.detach().double().sum()) for p in model.parameters())
        spread = _max(checksum, device) + _max(-checksum, device)
        summary = {
            "final_test_accuracy": final.test_accuracy,
            "best_test_accuracy": outcome.best_accuracy,
            "final_train_loss": final.train_loss,
            "epochs_run": final.epoch,
            "train_time_s": slowest,
            "wall_time_s": final.elapsed_seconds,
            "images_per_s": total_images / slowest if slowest else None,
            "images_per_s_per_process": total_images / slowest / world if slowest else None,
            "time_to_target_s": outcome.time_to_target_s,
            "target_reached": 1.0 if outcome.time_to_target_s is not None else 0.0,
            "world_size": float(world),
            "param_checksum_spread": abs(spread),
        }
        if args.baseline_images_per_s and summary["images_per_s"]:
            summary["scaling_efficiency"] = summary["images_per_s"] / (world * args.baseline_images_per_s)
        if denv.is_main:
            tracker.log_metrics(summary)
            if not args.no_log_model:
                model.eval()
                tracker.log_torch_model(model.float().cpu(), data.test_x[:4])
            if args.bench:
                print(bench_line(WORKLOAD, {"device": tracker.info["device_name"].replace(" ", "_"),
                                            "world_size": world, "backend": backend, "precision": precision,
                                            **summary}))
            eff = summary.get("scaling_efficiency")
            print(f"rank 0 of {world}: {summary['images_per_s'] or 0:.1f} images/s"
                  + (f", scaling efficiency {eff:.2f}" if eff is not None else ""), flush=True)
            print(f"rank 0 of {world}: final test accuracy {final.test_accuracy:.4f}; metrics in {args.metrics_json}"
                  + (f"; mlflow run {tracker.run_id}" if tracker.run_id else ""))
    return 0


def _max(value: float, device) -> float:
    import torch
    import torch.distributed as torch_dist

    t = torch.tensor([value], dtype=torch.float64, device=device)
    torch_dist.all_reduce(t, op=torch_dist.ReduceOp.MAX)
    return float(t.item())


if __name__ == "__main__":
    sys.exit(main())
