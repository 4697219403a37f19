"""oumi_run: what it reads back from Oumi's own output files (recorded from a real oumi 0.9 run,
tests/fixtures/oumi/README.md), and how it fails when Oumi is not there or the input is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from workloads.common.device import WorkloadError
from workloads.oumi_run import evaluation_figures, training_figures

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oumi"


def test_training_figures_from_a_recorded_trainer_state():
    figures = training_figures(FIXTURES / "trainer_state.json")
    history = json.loads((FIXTURES / "trainer_state.json").read_text())["log_history"]
    losses = [e["loss"] for e in history if "loss" in e]
    assert len(losses) == 10  # 40 steps, logging_steps 4
    assert figures["first_loss"] == pytest.approx(losses[0]) and figures["final_loss"] == pytest.approx(losses[-1])
    assert figures["loss_drop"] == pytest.approx(losses[0] - losses[-1]) and figures["loss_drop"] > 1
    assert figures["logged_steps"] == 40
    assert figures["train_samples_per_second"] == pytest.approx(history[-1]["train_samples_per_second"])
    assert figures["train_loss"] == pytest.approx(history[-1]["train_loss"])


def test_a_trainer_state_without_losses_is_an_error_naming_the_file(tmp_path):
    state = tmp_path / "trainer_state.json"
    state.write_text(json.dumps({"log_history": [{"train_runtime": 1.0, "step": 1}]}))
    with pytest.raises(WorkloadError, match=f"{state}: no training loss was logged"):
        training_figures(state)
    with pytest.raises(WorkloadError, match="no training log"):
        training_figures(tmp_path / "missing.json")


def test_evaluation_figures_from_a_recorded_task_result(tmp_path):
    (tmp_path / "custom_20261129_180339").mkdir()
    shutil.copy(FIXTURES / "task_result.json", tmp_path / "custom_20261129_180339" / "task_result.json")
    figures = evaluation_figures(tmp_path)
    assert set(figures) == {"perplexity", "mean_nll", "answer_tokens", "eval_tokens_per_s"}
    assert figures["perplexity"] == pytest.approx(363.4817, rel=1e-6)
    with pytest.raises(WorkloadError, match="no task_result.json"):
        evaluation_figures(tmp_path / "empty")


def test_without_an_oumi_executable_it_says_so_and_exits_2(tmp_path, run_wl):
    if shutil.which("oumi"):
        pytest.skip("an oumi executable is on PATH here")
    state_dir = tmp_path / "trained"
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({"model": {"model_name": "some/model"},
                                      "data": {"train": {"datasets": [{"dataset_name": "text_sft_jsonl"}]}},
                                      "training": {"trainer_type": "TRL_SFT", "output_dir": str(state_dir)}}))
    metrics = tmp_path / "metrics.json"
    proc = run_wl("oumi_run", ["train", "-c", str(config), "--no-mlflow", "--metrics-json", str(metrics)])
    assert proc.returncode == 2, proc.stderr
    assert "no `oumi` executable beside" in proc.stderr and "install the oumi package" in proc.stderr
    assert not state_dir.exists()
    doc = json.loads(metrics.read_text())
    assert doc["status"] == "FAILED" and "no `oumi` executable" in doc["info"]["error"]
    assert doc["params"]["validated_by"] == "structure" and doc["params"]["trainer_type"] == "TRL_SFT"


def test_bad_arguments_exit_2_with_the_reason(tmp_path, run_wl):
    proc = run_wl("oumi_run", ["train", "-c", str(tmp_path / "nope.yaml")])
    assert proc.returncode == 2 and f"-c {tmp_path / 'nope.yaml'}: no such file" in proc.stderr
    one, two = tmp_path / "eval-x.yaml", tmp_path / "sub" / "eval-x.yaml"
    two.parent.mkdir()
    for path in (one, two):
        path.write_text("model: {model_name: m}\n")
    proc = run_wl("oumi_run", ["evaluate", "-c", str(one), "-c", str(two), "--no-mlflow"])
    assert proc.returncode == 2 and "config names must differ" in proc.stderr


@pytest.mark.parametrize("name, steps", [("tiny", 40), ("medium", 100)])
def test_training_figures_from_bf16_runs_on_an_h200(name, steps):
    """Recorded on a real H200 (tests/fixtures/oumi/README.md): the same reader, GPU-sized runs."""
    state = FIXTURES / "h200" / f"{name}-trainer_state.json"
    figures = training_figures(state)
    history = json.loads(state.read_text())["log_history"]
    assert figures["logged_steps"] == steps
    assert figures["loss_drop"] > 1 and figures["final_loss"] < figures["first_loss"]
    assert figures["train_samples_per_second"] == pytest.approx(history[-1]["train_samples_per_second"])
