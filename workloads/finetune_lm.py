"""Causal-LM fine-tune (MLOPS-1.2): a local Hugging Face model directory, else a random GPT-2-style model.

    python -m workloads.finetune_lm --model-dir /mnt/beegfs/models/SmolLM-135M --text corpus.jsonl --steps 500
    python -m workloads.finetune_lm --preset gpt2-small --steps 50 --bench     # GPU throughput / MFU
    python -m workloads.finetune_lm                                            # CI: tiny model, bundled text

--model-dir needs `transformers` (loads config, weights and tokenizer from the directory, nothing
downloaded). Without it the model is workloads.common.gpt (plain PyTorch) on byte tokens.
Reports tokens/s and model-FLOPs utilization (formula in workloads/common/flops.py).
Exit status: 0 ok, 1 the validation loss did not improve, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

WORKLOAD = "finetune_lm"


def build_parser() -> argparse.ArgumentParser:
    from workloads.common.cli import add_common_args
    from workloads.common.gpt import PRESETS

    p = argparse.ArgumentParser(prog="python -m workloads.finetune_lm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", default=None, help="local Hugging Face model directory (e.g. SmolLM-135M)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="tiny", help="random-init model size (no --model-dir)")
    p.add_argument("--text", default=None, help=".txt or .jsonl (text/messages) corpus; default: bundled sklearn text")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=16, help="sequences per micro-batch")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--seq-len", type=int, default=None, help="default: the preset's block size (256 for --model-dir)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 1e-3 random init, 5e-5 --model-dir)")
    p.add_argument("--warmup-steps", type=int, default=3, help="steps left out of throughput figures (compile, autotune)")
    p.add_argument("--eval-batches", type=int, default=8)
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="device peak for MFU in TFLOP/s (default: bf16 peak from the GPU name; none on CPU)")
    p.add_argument("--no-log-model", action="store_true")
    p.add_argument("--require-improvement", action="store_true", help="exit 1 if validation loss did not drop")
    p.add_argument("--backend", choices=("auto", "nccl", "gloo"), default="auto",
                   help="data-parallel backend when started as several processes (srun or torchrun); "
                        "auto: nccl on GPUs, else gloo")
    p.add_argument("--dist-timeout", type=float, default=300.0, help="seconds to wait for all ranks to join")
    add_common_args(p)
    return p


def validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    for name in ("steps", "batch_size", "grad_accum", "seq_len", "eval_batches"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1 (got {value})")
    if args.warmup_steps < 0 or args.warmup_steps >= args.steps:
        parser.error(f"--warmup-steps must be in [0, --steps) (got {args.warmup_steps})")
    if args.model_dir and not Path(args.model_dir).is_dir():
        parser.error(f"--model-dir {args.model_dir}: not a directory")
    if args.model_dir and not (Path(args.model_dir) / "config.json").is_file():
        parser.error(f"--model-dir {args.model_dir}: no config.json (expected a Hugging Face model directory)")


class LM:
    """What the loop needs from either model family."""

    def __init__(self, model: Any, encode, vocab: int, n_layer: int, d_attn: int, family: str, name: str,
                 tokenizer: Any = None, config: dict | None = None) -> None:
        self.model, self.encode, self.vocab = model, encode, vocab
        self.n_layer, self.d_attn, self.family, self.name = n_layer, d_attn, family, name
        self.tokenizer, self.config = tokenizer, config or {}

    def logits(self, model: Any, x: Any) -> Any:
        out = model(x) if self.family == "gpt" else model(input_ids=x).logits
        return out


def load_hf(model_dir: str) -> LM:
    try:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        from workloads.common.device import WorkloadError

        raise WorkloadError("--model-dir needs the `transformers` package (pip install transformers)") from None
    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True, dtype="float32")
    n_head = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    return LM(model, encode, config.vocab_size, config.num_hidden_layers, n_head * head_dim, "hf",
              Path(model_dir).name, tokenizer=tokenizer, config={"model_type": config.model_type})


def load_gpt(preset: str, seq_len: int | None) -> LM:
    from dataclasses import replace

    from workloads.common.gpt import GPT, PRESETS

    cfg = PRESETS[preset]
    if seq_len and seq_len > cfg.block_size:
        cfg = replace(cfg, block_size=seq_len)
    model = GPT(cfg)
    encode = lambda text: list(text.encode("utf-8"))  # noqa: E731 - byte tokens, ids 0..255
    return LM(model, encode, cfg.vocab_size, cfg.n_layer, cfg.n_embd, "gpt", f"gpt-{preset}", config=cfg.as_dict())


def main(argv: Sequence[str] | None = None) -> int:
    from workloads.common.cli import run_main

    return run_main("finetune_lm", _main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    validate(args, parser)

    import torch

    from workloads.common import device as dev
    from workloads.common.cli import resolve_outputs
    from workloads.common.dist import detect

    denv = detect(os.environ)
    resolve_outputs(args, WORKLOAD)
    if denv.world_size > 1 and args.device == "auto" and torch.cuda.is_available():
        device = torch.device("cuda", denv.local_rank % torch.cuda.device_count())
    else:
        device = dev.pick_device(args.device)
    precision = dev.resolve_precision(args.precision, device)
    dev.setup_backend(device)
    dev.seed_everything(args.seed)
    backend = args.backend if args.backend != "auto" else ("nccl" if device.type == "cuda" else "gloo")
    if denv.world_size > 1:
        import datetime

        import torch.distributed as torch_dist

        if backend == "nccl" and device.type != "cuda":
            raise dev.WorkloadError("--backend nccl needs a CUDA device (use gloo on CPU)")
        init = "env://" if denv.launcher == "torchrun" else f"tcp://{denv.master_addr}:{denv.master_port}"
        torch_dist.init_process_group(backend, init_method=init, rank=denv.rank, world_size=denv.world_size,
                                      timeout=datetime.timedelta(seconds=args.dist_timeout))
    if denv.world_size == 1:
        return _train(args, denv, device, precision, backend)
    try:
        rc = _train(args, denv, device, precision, backend)
        torch_dist.barrier()  # leave together: a rank that closes its sockets while rank 0 logs can abort it
        return rc
    finally:
        torch_dist.destroy_process_group()


def _train(args: argparse.Namespace, denv: Any, device: Any, precision: str, backend: str) -> int:
    import torch
    import torch.nn.functional as F

    from workloads.common import device as dev
    from workloads.common.cli import bench_line, tracker_for
    from workloads.common.flops import flops_per_token, matmul_params, mfu, peak_flops_for
    from workloads.common.text_data import load_corpus

    world = denv.world_size
    text, text_source = load_corpus(args.text)
    lm = load_hf(args.model_dir) if args.model_dir else load_gpt(args.preset, args.seq_len)
    seq_len = args.seq_len or (lm.config.get("block_size") if lm.family == "gpt" else 256)
    lr = args.lr or (1e-3 if lm.family == "gpt" else 5e-5)

    ids = torch.tensor(lm.encode(text), dtype=torch.long)
    split = int(len(ids) * 0.9)
    train_ids, val_ids = ids[:split], ids[split:]
    if len(val_ids) <= seq_len + 1:
        raise dev.WorkloadError(f"--text {text_source}: {len(ids)} tokens is too short for --seq-len {seq_len}")
    train_ids, val_ids = train_ids.to(device), val_ids.to(device)

    model = lm.model.to(device)
    model.train()
    if world > 1:  # same seed on every rank: identical initial weights; DDP averages the gradients
        from torch.nn.parallel import DistributedDataParallel as DDP

        run_model = dev.maybe_compile(DDP(model, device_ids=[device.index] if device.type == "cuda" else None),
                                      args.compile)
    else:
        run_model = dev.maybe_compile(model, args.compile)
    amp = lambda: dev.autocast(precision, device)  # noqa: E731
    n_params = sum(p.numel() for p in model.parameters())
    n_matmul = matmul_params(model)
    per_token = flops_per_token(n_matmul, lm.n_layer, lm.d_attn, seq_len)
    peak = args.peak_tflops * 1e12 if args.peak_tflops else (
        peak_flops_for(torch.cuda.get_device_name(device)) if device.type == "cuda" else None)

    def batch(source, gen):
        starts = torch.randint(0, len(source) - seq_len - 1, (args.batch_size,), generator=gen).to(device)
        offsets = starts[:, None] + torch.arange(seq_len + 1, device=device)[None, :]
        chunk = source[offsets]
        return chunk[:, :-1], chunk[:, 1:]

    def loss_of(m, x, y):
        with amp():
            logits = lm.logits(m, x)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))

    @torch.no_grad()
    def val_loss() -> float:
        model.eval()
        gen = torch.Generator().manual_seed(1234)  # the same batches before and after training
        total = sum(float(loss_of(model, *batch(val_ids, gen))) for _ in range(args.eval_batches))
        model.train()
        return total / args.eval_batches

    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1,
                            fused=device.type == "cuda")
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=args.steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(args.seed + denv.rank)  # each rank its own batches

    tracker = tracker_for(args, WORKLOAD, enabled=denv.is_main)
    with tracker:
        tracker.log_params({
            "model": lm.name, "model_family": lm.family, "model_dir": args.model_dir,
            "preset": None if args.model_dir else args.preset, "text_source": text_source,
            "train_tokens": len(train_ids), "steps": args.steps, "batch_size": args.batch_size,
            "grad_accum": args.grad_accum, "seq_len": seq_len, "lr": lr, "precision": precision,
            "compile": args.compile, "device": str(device), "n_params": n_params, "n_matmul_params": n_matmul,
            "flops_per_token": per_token, "flops_formula": "6*N_matmul + 12*n_layer*d_attn*seq_len",
            "peak_flops": peak, "seed": args.seed, **{f"cfg_{k}": v for k, v in lm.config.items()},
            "world_size": world, "launcher": denv.launcher, "backend": backend if world > 1 else None,
        })
        tracker.set_info(device_name=dev.device_description(device), output_dir=str(args.output_dir))
        initial = val_loss()
        tracker.log_metrics({"val_loss": initial}, step=0)
        if denv.is_main:
            print(f"step    0  val_loss {initial:.4f}", flush=True)

        tokens_per_step = args.batch_size * args.grad_accum * seq_len * world  # all ranks
        timed_tokens, timed_s, last_loss = 0, 0.0, float("nan")
        dev.synchronize(device)
        began = time.perf_counter()
        log_every = max(1, args.steps // 10)
        for step in range(1, args.steps + 1):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            step_loss = torch.zeros((), device=device)
            for _ in range(args.grad_accum):
                loss = loss_of(run_model, *batch(train_ids, gen)) / args.grad_accum
                loss.backward()
                step_loss += loss.detach()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if step > args.warmup_steps or step % log_every == 0 or step == args.steps:
                dev.synchronize(device)
            if step > args.warmup_steps:
                timed_s += time.perf_counter() - t0
                timed_tokens += tokens_per_step
            if step % log_every == 0 or step == args.steps:
                last_loss = float(step_loss)
                tracker.log_metrics({"train_loss": last_loss}, step=step)
                if denv.is_main:
                    print(f"step {step:4d}  train_loss {last_loss:.4f}", flush=True)
        wall = time.perf_counter() - began
        final = val_loss()
        tokens_per_s = timed_tokens / timed_s if timed_s else None
        summary = {
            "initial_val_loss": initial,
            "final_val_loss": final,
            "val_loss_drop": initial - final,
            "final_train_loss": last_loss,
            "tokens_per_s": tokens_per_s,
            "step_time_ms": 1000 * timed_s / (args.steps - args.warmup_steps),
            "model_tflops_per_s": tokens_per_s * per_token / 1e12 if tokens_per_s else None,
            "mfu": mfu(tokens_per_s, per_token, peak) if tokens_per_s else None,
            "train_wall_s": wall,
        }
        tracker.log_metrics({"val_loss": final}, step=args.steps)
        tracker.log_metrics(summary)
        if not args.no_log_model and denv.is_main:
            _log_model(tracker, lm, model, args.output_dir, seq_len)
        if args.bench and denv.is_main:
            print(bench_line(WORKLOAD, {"device": tracker.info["device_name"].replace(" ", "_"),
                                        "model": lm.name, "precision": precision, "seq_len": seq_len,
                                        "batch": args.batch_size * args.grad_accum, "n_params": n_params,
                                        "flops_per_token": per_token, **summary}))
    who = f"rank {denv.rank} of {world}: " if world > 1 else ""
    print(f"{who}val loss {initial:.4f} -> {final:.4f}; tokens/s {summary['tokens_per_s'] or 0:.0f}; "
          f"metrics in {args.metrics_json}" + (f"; mlflow run {tracker.run_id}" if tracker.run_id else ""))
    if args.require_improvement and not final < initial:
        print(f"finetune_lm: validation loss did not improve ({initial:.4f} -> {final:.4f})", file=sys.stderr)
        return 1
    return 0


def _log_model(tracker, lm: LM, model, output_dir: Path, seq_len: int) -> None:
    import torch

    model.eval()
    if lm.family == "hf":
        # A Hugging Face directory (config, safetensors, tokenizer) is what serving runtimes load.
        target = Path(output_dir) / "model"
        model.save_pretrained(target)
        lm.tokenizer.save_pretrained(target)
        tracker.log_artifacts(target, artifact_path="model")
        tracker.set_info(model_dir=str(target))
        return
    cpu_model = model.float().cpu()
    example = torch.randint(0, 256, (2, min(seq_len, 16)), dtype=torch.long).numpy()
    tracker.log_torch_model(cpu_model, example)
    target = Path(output_dir) / "model"
    target.mkdir(parents=True, exist_ok=True)
    torch.save(cpu_model.state_dict(), target / "model.pt")
    (target / "config.json").write_text(json.dumps(lm.config, indent=2))
    tracker.set_info(model_dir=str(target))


if __name__ == "__main__":
    sys.exit(main())
