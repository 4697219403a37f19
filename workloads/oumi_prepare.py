"""Make what an Oumi SFT run and its evaluation need, on the spot and without downloads.

    python -m workloads.oumi_prepare --out DIR --steps 40                   # tiny model made here
    python -m workloads.oumi_prepare --out DIR --model-dir /mnt/beegfs/models/SmolLM-135M

Writes, under DIR:
  model/            with no --model-dir: a tiny Llama-style model (random init) and a byte-level
                    BPE tokenizer trained on the corpus (transformers + tokenizers, nothing fetched)
  data/train.jsonl, data/heldout.jsonl
                    Oumi chat-format SFT rows ({"messages": [...]}) cut from the corpus: the user
                    gives the start of a paragraph, the assistant continues it; every 8th
                    paragraph is held out for evaluation
  train.yaml        Oumi TrainingConfig (workloads.oumi_config.build_config), run with `oumi train -c`
  eval-base.yaml, eval-tuned.yaml
                    Oumi EvaluationConfigs of the custom task `cockpit_heldout_perplexity`
                    (workloads/oumi_eval.py) on the model before and after training
  oumi-extra-deps.txt
                    the file OUMI_EXTRA_DEPS_FILE names, so Oumi's registry loads that task

The corpus is workloads.common.text_data's (the text bundled with scikit-learn, or --text FILE).
Needs the oumi package (the configs are validated by Oumi before anything is written as done).
Exit status: 0 ok, 2 bad input or a config Oumi rejects.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import yaml

from workloads.common.device import WorkloadError
from workloads.oumi_config import build_config, validate_file

EVAL_TASK = "cockpit_heldout_perplexity"
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = "chat_ml"  # Oumi's own template (oumi/datasets/chat_templates/chat_ml.jinja)
HELDOUT_EVERY = 8


def conversations(text: str, *, min_chars: int = 80, max_chars: int = 600) -> list[dict[str, Any]]:
    """Paragraphs of the corpus as one-turn chats: the user's half, then the assistant's."""
    rows = []
    for para in (" ".join(p.split()) for p in text.split("\n\n")):
        if len(para) < min_chars:
            continue
        para = para[:max_chars]
        cut = para.rfind(" ", 0, len(para) // 2)
        cut = cut if cut > 0 else len(para) // 2
        rows.append({"messages": [
            {"role": "user", "content": "Continue: " + para[:cut]},
            {"role": "assistant", "content": para[cut:].strip()},
        ]})
    return rows


def split_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if len(rows) < 2 * HELDOUT_EVERY:  # at least two held-out rows
        raise WorkloadError(f"the corpus gives only {len(rows)} usable paragraphs; need at least {2 * HELDOUT_EVERY}")
    train = [r for i, r in enumerate(rows) if i % HELDOUT_EVERY]
    heldout = [r for i, r in enumerate(rows) if not i % HELDOUT_EVERY]
    return train, heldout


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_tiny_model(out: Path, text: str, *, vocab_size: int, hidden: int, layers: int, heads: int,
                    max_length: int, seed: int) -> dict[str, Any]:
    """A random-init LlamaForCausalLM and a BPE tokenizer trained on `text`, saved to `out`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                        model_max_length=max_length)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=max_length,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(tokenizer)}


def eval_config(model: str, tokenizer: str, heldout: Path, output_dir: Path, max_length: int) -> dict[str, Any]:
    return {
        "model": {"model_name": model, "tokenizer_name": tokenizer, "model_max_length": max_length,
                  "torch_dtype_str": "float32", "chat_template": CHAT_TEMPLATE, "trust_remote_code": False},
        "tasks": [{"evaluation_backend": "custom", "task_name": EVAL_TASK,
                   "eval_kwargs": {"data_path": str(heldout)}}],
        "output_dir": str(output_dir),
    }


def oumi_validate_eval(path: Path) -> list[str]:
    try:
        from oumi.core.configs import EvaluationConfig

        EvaluationConfig.from_yaml(str(path)).finalize_and_validate()
    except Exception as exc:  # noqa: BLE001 - report whatever Oumi rejects
        return [f"{path}: oumi: {type(exc).__name__}: {exc}"]
    return []


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    from workloads.common.text_data import load_corpus

    out: Path = args.out.resolve()
    text, source = load_corpus(args.text)
    train_rows, heldout_rows = split_rows(conversations(text))
    write_jsonl(out / "data" / "train.jsonl", train_rows)
    write_jsonl(out / "data" / "heldout.jsonl", heldout_rows)
    made: dict[str, Any] = {}
    if args.model_dir:
        model_dir = Path(args.model_dir)
        if not (model_dir / "config.json").is_file():
            raise WorkloadError(f"--model-dir {model_dir}: no config.json there")
    else:
        model_dir = out / "model"
        made = make_tiny_model(model_dir, text, vocab_size=args.vocab_size, hidden=args.hidden, layers=args.layers,
                               heads=args.heads, max_length=args.max_length, seed=args.seed)
    trained_dir = out / "trained"
    train = build_config(str(model_dir), str(out / "data" / "train.jsonl"), str(trained_dir),
                         max_steps=args.steps, batch_size=args.batch_size, grad_accum=1, lr=args.lr,
                         max_length=args.max_length, bf16=args.bf16, enable_mlflow=False)
    train["model"]["chat_template"] = CHAT_TEMPLATE
    train["training"].update({"logging_steps": max(1, args.steps // 10), "seed": args.seed,
                              "dataloader_num_workers": 0, "save_steps": 0,
                              "include_performance_metrics": False, "run_name": args.run_name or "oumi-sft"})
    (out / "train.yaml").write_text("# Generated by python -m workloads.oumi_prepare; run with: oumi train -c THIS_FILE\n"
                                    + yaml.safe_dump(train, sort_keys=False))
    evals = {
        "eval-base.yaml": eval_config(str(model_dir), str(model_dir), out / "data" / "heldout.jsonl",
                                      out / "eval" / "base", args.max_length),
        "eval-tuned.yaml": eval_config(str(trained_dir), str(model_dir), out / "data" / "heldout.jsonl",
                                       out / "eval" / "tuned", args.max_length),
    }
    for name, config in evals.items():
        (out / name).write_text("# Generated by python -m workloads.oumi_prepare; run with: oumi evaluate -c THIS_FILE\n"
                                + yaml.safe_dump(config, sort_keys=False))
    (out / "oumi-extra-deps.txt").write_text(str(Path(__file__).with_name("oumi_eval.py")) + "\n")
    checked = validate_file(out / "train.yaml")
    problems = list(checked["problems"])
    if checked["validated_by"] != "oumi":
        problems.append("the oumi package does not import here: run this with the Python that has Oumi")
    for name in evals:
        problems += oumi_validate_eval(out / name)
    return {"out": str(out), "corpus": source, "train_rows": len(train_rows), "heldout_rows": len(heldout_rows),
            "model_dir": str(model_dir), "made_model": made, "validated_by": checked["validated_by"],
            "problems": problems}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workloads.oumi_prepare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="directory for the model, data and configs")
    p.add_argument("--model-dir", default="", help="an existing local model directory (empty: make a tiny one)")
    p.add_argument("--text", default=None, help=".txt or .jsonl corpus (default: the text bundled with scikit-learn)")
    p.add_argument("--steps", type=int, default=40, help="Oumi max_steps")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--bf16", action="store_true", help="bfloat16 training (GPUs); default float32")
    p.add_argument("--vocab-size", type=int, default=1024, help="tiny model: BPE vocabulary size")
    p.add_argument("--hidden", type=int, default=64, help="tiny model: hidden size")
    p.add_argument("--layers", type=int, default=2, help="tiny model: decoder layers")
    p.add_argument("--heads", type=int, default=4, help="tiny model: attention heads")
    p.add_argument("--run-name", default=None, help="Oumi training run_name")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "max_length", "vocab_size", "hidden", "layers", "heads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.hidden % args.heads:
        parser.error("--hidden must be a multiple of --heads")
    try:
        result = prepare(args)
    except WorkloadError as exc:
        print(f"oumi_prepare: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    if result["problems"]:
        for problem in result["problems"]:
            print(f"oumi_prepare: error: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
