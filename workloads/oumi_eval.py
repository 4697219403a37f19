"""Oumi custom evaluation `cockpit_heldout_perplexity`: the model's perplexity on the assistant
turns of held-out chat rows (the text after the chat template's prompt), and how fast it read them.

Oumi loads this file into its registry when OUMI_EXTRA_DEPS_FILE names a file that lists it
(workloads/oumi_prepare.py writes one); an EvaluationConfig task then selects it with
`evaluation_backend: custom` and `task_name: cockpit_heldout_perplexity`, and `oumi evaluate`
calls it with the config's model (built by Oumi's own builders) and the task's `eval_kwargs`.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from oumi.core.registry import register_evaluation_function

TASK_NAME = "cockpit_heldout_perplexity"


def read_rows(data_path: str, max_rows: int) -> list[list[dict[str, str]]]:
    path = Path(data_path)
    if not path.is_file():
        raise ValueError(f"{TASK_NAME}: data_path {path} does not exist")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        messages = json.loads(line).get("messages")
        if not isinstance(messages, list) or len(messages) < 2 or messages[-1].get("role") != "assistant":
            raise ValueError(f"{TASK_NAME}: {path}: line {n}: expected messages ending with an assistant turn")
        rows.append(messages)
    if not rows:
        raise ValueError(f"{TASK_NAME}: {path} has no rows")
    return rows[:max_rows] if max_rows > 0 else rows


@register_evaluation_function(TASK_NAME)
def heldout_perplexity(config: Any, task_params: Any, data_path: str) -> dict[str, float]:
    """Oumi fills `config` (the EvaluationConfig) and `task_params` (the task, whose num_samples
    caps the rows); `data_path` comes from the task's eval_kwargs."""
    import torch

    from oumi.builders import build_model, build_tokenizer

    tokenizer = build_tokenizer(config.model)
    model = build_model(config.model)
    model.eval()
    device = next(model.parameters()).device
    max_length = config.model.model_max_length or tokenizer.model_max_length
    nll, tokens = 0.0, 0
    started = time.perf_counter()
    with torch.no_grad():
        for messages in read_rows(data_path, task_params.num_samples or 0):
            prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
            full = tokenizer.apply_chat_template(messages, tokenize=False)
            prompt_len = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
            ids = tokenizer(full, add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]
            if len(ids) - prompt_len < 1:
                continue  # the answer was cut off entirely by max_length
            input_ids = torch.tensor([ids], device=device)
            labels = input_ids.clone()
            labels[0, :prompt_len] = -100
            targets = len(ids) - prompt_len  # the loss is the mean over the shifted answer tokens
            loss = model(input_ids=input_ids, labels=labels).loss
            nll += float(loss) * targets
            tokens += targets
    took = time.perf_counter() - started
    if not tokens:
        raise ValueError(f"{TASK_NAME}: no answer tokens within model_max_length={max_length}")
    return {"perplexity": math.exp(nll / tokens), "mean_nll": nll / tokens, "answer_tokens": float(tokens),
            "eval_tokens_per_s": tokens / took if took > 0 else 0.0}
