"""oumi_prepare: the chat rows it cuts from the corpus, its input checks, and (with the Oumi venv)
the tiny model, data and configs it writes, validated by Oumi itself."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.workloads.oumi_venv import OUMI_PYTHON, SKIP_REASON
from workloads.common.device import WorkloadError
from workloads.oumi_prepare import conversations, split_rows


def test_paragraphs_become_one_turn_chats_split_at_a_word():
    para = "Iris data set. " * 12
    rows = conversations(f"short\n\n{para}\n\n{para}")
    assert len(rows) == 2  # the short paragraph is dropped
    user, assistant = rows[0]["messages"]
    assert user["role"] == "user" and assistant["role"] == "assistant"
    assert user["content"].startswith("Continue: Iris data set.")
    # the two halves are the paragraph again, cut at a space
    assert (user["content"].removeprefix("Continue: ") + " " + assistant["content"]) == " ".join(para.split())


def test_every_eighth_row_is_held_out_and_too_little_text_is_refused():
    rows = [{"messages": [{"role": "user", "content": str(i)}]} for i in range(24)]
    train, heldout = split_rows(rows)
    assert [r["messages"][0]["content"] for r in heldout] == ["0", "8", "16"]
    assert len(train) == 21 and not {id(r) for r in train} & {id(r) for r in heldout}
    with pytest.raises(WorkloadError, match="only 10 usable paragraphs"):
        split_rows(rows[:10])


def test_bad_sizes_exit_2_and_write_nothing(tmp_path, run_wl):
    proc = run_wl("oumi_prepare", ["--out", str(tmp_path / "o"), "--hidden", "63", "--heads", "4"])
    assert proc.returncode == 2 and "--hidden must be a multiple of --heads" in proc.stderr
    proc = run_wl("oumi_prepare", ["--out", str(tmp_path / "o"), "--steps", "0"])
    assert proc.returncode == 2 and "--steps must be >= 1" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.skipif(not OUMI_PYTHON.exists(), reason=SKIP_REASON)
def test_makes_a_tiny_model_data_and_configs_that_oumi_accepts(tmp_path, run_wl):
    out = tmp_path / "oumi"
    proc = run_wl("oumi_prepare", ["--out", str(out), "--steps", "7", "--run-name", "t"],
                  {"HF_HUB_OFFLINE": "1"}, launcher=[str(OUMI_PYTHON)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["validated_by"] == "oumi" and result["problems"] == []
    assert result["made_model"]["vocab_size"] == 1024 and result["made_model"]["parameters"] > 10_000
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 2 and config["hidden_size"] == 64
    assert (out / "model" / "tokenizer.json").is_file()
    train = yaml.safe_load((out / "train.yaml").read_text())
    assert train["model"]["model_name"] == str(out / "model") and train["training"]["max_steps"] == 7
    assert train["training"]["output_dir"] == str(out / "trained")
    tuned = yaml.safe_load((out / "eval-tuned.yaml").read_text())
    assert tuned["model"]["model_name"] == str(out / "trained")
    assert tuned["tasks"][0]["task_name"] == "cockpit_heldout_perplexity"
    rows = [json.loads(line) for line in (out / "data" / "heldout.jsonl").read_text().splitlines()]
    assert len(rows) == result["heldout_rows"] >= 2 and rows[0]["messages"][-1]["role"] == "assistant"
    assert (out / "oumi-extra-deps.txt").read_text().strip().endswith("workloads/oumi_eval.py")
