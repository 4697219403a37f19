"""Write an Oumi training config (TrainingConfig YAML) for the SmolLM fine-tune, and validate it.

    python -m workloads.oumi_config --model-dir /mnt/beegfs/models/SmolLM-135M \
        --dataset /mnt/beegfs/datasets/sft.jsonl --out /mnt/beegfs/configs/smollm.yaml
    oumi train -c /mnt/beegfs/configs/smollm.yaml          # on a node where oumi is installed

Field names follow Oumi's SmolLM-135M SFT recipe (configs/recipes/smollm/sft/135m) and its
`text_sft_jsonl` local-file dataset. When the `oumi` package imports, the file is loaded with
oumi.core.configs.TrainingConfig.from_yaml and finalize_and_validate(); otherwise only the
structure and paths are checked, and the output says `validated_by: structure` - it does not
claim an Oumi validation that did not happen.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import yaml

REQUIRED = {
    ("model", "model_name"),
    ("data", "train", "datasets"),
    ("training", "trainer_type"),
    ("training", "output_dir"),
}


def build_config(model: str, dataset: str, output_dir: str, *, max_steps: int, batch_size: int, grad_accum: int,
                 lr: float, max_length: int, bf16: bool, enable_mlflow: bool) -> dict[str, Any]:
    return {
        "model": {
            "model_name": model,
            "model_max_length": max_length,
            "torch_dtype_str": "bfloat16" if bf16 else "float32",
            "attn_implementation": "sdpa",
            "load_pretrained_weights": True,
            "trust_remote_code": False,
        },
        "data": {"train": {"datasets": [{"dataset_name": "text_sft_jsonl", "dataset_path": dataset}]}},
        "training": {
            "trainer_type": "TRL_SFT",
            "max_steps": max_steps,
            "per_device_train_batch_size": batch_size,
            "gradient_accumulation_steps": grad_accum,
            "learning_rate": lr,
            "optimizer": "adamw_torch_fused" if bf16 else "adamw_torch",
            "ddp_find_unused_parameters": False,
            "save_final_model": True,
            "logging_steps": 10,
            "include_performance_metrics": True,
            "enable_mlflow": enable_mlflow,
            "enable_wandb": False,
            "enable_tensorboard": False,
            "output_dir": output_dir,
        },
    }


def structural_problems(config: dict[str, Any], *, check_paths: bool) -> list[str]:
    problems = []
    for path in sorted(REQUIRED):
        node: Any = config
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node in (None, "", []):
            problems.append(f"{' -> '.join(path)}: missing")
    if check_paths:
        model = str(config.get("model", {}).get("model_name", ""))
        if model.startswith(("/", ".")) and not (Path(model) / "config.json").is_file():
            problems.append(f"model -> model_name: {model} has no config.json")
        for i, ds in enumerate(config.get("data", {}).get("train", {}).get("datasets", []) or []):
            p = ds.get("dataset_path")
            if p and not Path(p).is_file():
                problems.append(f"data -> train -> datasets[{i}] -> dataset_path: {p} does not exist")
    return problems


def validate_file(path: Path, *, check_paths: bool = True) -> dict[str, Any]:
    """Returns {"validated_by": "oumi" | "structure", "problems": [...]}."""
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        return {"validated_by": "structure", "problems": [f"{path}: {exc}"]}
    if not isinstance(config, dict):
        return {"validated_by": "structure", "problems": [f"{path}: not a mapping"]}
    problems = structural_problems(config, check_paths=check_paths)
    if importlib.util.find_spec("oumi") is None:
        return {"validated_by": "structure", "problems": problems, "note": "oumi is not installed here"}
    try:
        from oumi.core.configs import TrainingConfig

        TrainingConfig.from_yaml(str(path)).finalize_and_validate()
    except Exception as exc:  # noqa: BLE001 - report whatever Oumi rejects
        problems.append(f"oumi: {type(exc).__name__}: {exc}")
    return {"validated_by": "oumi", "problems": problems}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m workloads.oumi_config", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", default="HuggingFaceTB/SmolLM-135M",
                   help="local model directory (or a hub id, resolved by Oumi on the node)")
    p.add_argument("--dataset", required=False, help="Oumi-format SFT .jsonl ({'messages': [...]} per line)")
    p.add_argument("--out", type=Path, required=False, help="where to write the YAML")
    p.add_argument("--output-dir", default="output/smollm135m.sft", help="Oumi training output_dir")
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--grad-accum", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--max-length", type=int, default=2048)
    p.add_argument("--fp32", action="store_true", help="float32 instead of bfloat16 (CPU)")
    p.add_argument("--no-mlflow", action="store_true", help="do not enable Oumi's MLflow callback")
    p.add_argument("--no-check-paths", action="store_true", help="paths exist only on the cluster: skip checking them")
    p.add_argument("--validate", type=Path, default=None, help="only validate an existing config file")
    args = p.parse_args(argv)
    if args.validate:
        result = validate_file(args.validate, check_paths=not args.no_check_paths)
        print(json.dumps({"config": str(args.validate), **result}, indent=2))
        return 1 if result["problems"] else 0
    if not args.dataset or not args.out:
        p.error("--dataset and --out are required (or use --validate FILE)")
    for name in ("max_steps", "batch_size", "grad_accum", "max_length"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    config = build_config(args.model_dir, args.dataset, args.output_dir, max_steps=args.max_steps,
                          batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
                          max_length=args.max_length, bf16=not args.fp32, enable_mlflow=not args.no_mlflow)
    problems = structural_problems(config, check_paths=not args.no_check_paths)
    if problems:  # nothing written for a config that would not run
        for problem in problems:
            print(f"oumi_config: error: {problem}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("# Generated by python -m workloads.oumi_config; run with: oumi train -c THIS_FILE\n"
                        + yaml.safe_dump(config, sort_keys=False))
    result = validate_file(args.out, check_paths=not args.no_check_paths)
    print(json.dumps({"config": str(args.out), "command": f"oumi train -c {args.out}", **result}, indent=2))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
