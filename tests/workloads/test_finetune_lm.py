"""finetune_lm: the random-init GPT on bundled text, and a local Hugging Face directory (if transformers)."""

from __future__ import annotations

import json

import pytest


def test_random_gpt_learns_bundled_text(tmp_path, run_wl, tracking_uri, mlflow_client):
    out = tmp_path / "out"
    proc = run_wl("finetune_lm", ["--mlflow-uri", tracking_uri, "--output-dir", str(out), "--steps", "40",
                                  "--peak-tflops", "1", "--require-improvement", "--bench"],
                  {"POD_NAME": "finetune-x7", "POD_NAMESPACE": "mlops", "COCKPIT_PLAN_STEP": "lm"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "metrics.json").read_text())
    m, p = doc["metrics"], doc["params"]
    # Byte-level loss starts near ln(256) = 5.55 and must drop by a real margin.
    assert m["initial_val_loss"] > 5.0
    assert m["final_val_loss"] < m["initial_val_loss"] - 1.0
    assert m["tokens_per_s"] > 0
    assert m["mfu"] == pytest.approx(m["tokens_per_s"] * p["flops_per_token"] / 1e12)
    assert p["flops_formula"] == "6*N_matmul + 12*n_layer*d_attn*seq_len"
    assert (out / "model" / "model.pt").is_file()
    run = mlflow_client.get_run(doc["mlflow"]["run_id"])
    assert run.data.tags["k8s_pod"] == "finetune-x7" and run.data.tags["k8s_namespace"] == "mlops"
    assert run.data.tags["cockpit.source"] == "kubernetes"
    assert len(mlflow_client.get_metric_history(run.info.run_id, "val_loss")) == 2


def _tiny_hf_model(directory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<eos>"])
    tok.train_from_iterator(["the data set describes the digits and the iris flowers"] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>")
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      tie_word_embeddings=True)
    LlamaForCausalLM(cfg).save_pretrained(directory)
    fast.save_pretrained(directory)


def test_local_hugging_face_directory(tmp_path, run_wl):
    pytest.importorskip("transformers", reason="--model-dir needs transformers")
    model_dir = tmp_path / "tiny-llama"
    _tiny_hf_model(model_dir)
    out = tmp_path / "out"
    proc = run_wl("finetune_lm", ["--model-dir", str(model_dir), "--no-mlflow", "--output-dir", str(out),
                                  "--steps", "15", "--seq-len", "64", "--lr", "1e-3", "--require-improvement"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["params"]["model_family"] == "hf" and doc["params"]["cfg_model_type"] == "llama"
    assert doc["metrics"]["final_val_loss"] < doc["metrics"]["initial_val_loss"]
    assert doc["metrics"]["mfu"] is None  # CPU: no known peak, so no invented MFU
    assert (out / "model" / "config.json").is_file() and (out / "model" / "tokenizer.json").is_file()


def test_bad_inputs(tmp_path, run_wl):
    proc = run_wl("finetune_lm", ["--model-dir", str(tmp_path)])
    assert proc.returncode == 2 and "no config.json" in proc.stderr
    short = tmp_path / "short.txt"
    short.write_text("too short")
    proc = run_wl("finetune_lm", ["--text", str(short), "--no-mlflow", "--output-dir", str(tmp_path / "o")])
    assert proc.returncode == 2 and "need at least 1000" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{oops\n')
    proc = run_wl("finetune_lm", ["--text", str(bad), "--no-mlflow", "--output-dir", str(tmp_path / "o")])
    assert proc.returncode == 2 and "line 2: invalid JSON" in proc.stderr
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_two_process_data_parallel_under_torchrun(tmp_path, run_wl, tracking_uri, mlflow_client):
    """MLOPS-2.2's workload: two CPU processes on gloo (the real torchrun); rank 0 alone logs."""
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                "--master-addr", "127.0.0.1", "--master-port", str(port)]
    proc = run_wl("finetune_lm", ["--mlflow-uri", tracking_uri, "--output-dir", str(out), "--steps", "30",
                                  "--experiment", "cockpit-lm-ddp", "--no-log-model", "--require-improvement"],
                  {"SLURM_JOB_ID": "6262"}, launcher=torchrun)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    doc = json.loads((out / "metrics.json").read_text())
    m, p = doc["metrics"], doc["params"]
    assert p["world_size"] == 2 and p["backend"] == "gloo" and p["launcher"] == "torchrun"
    assert m["final_val_loss"] < m["initial_val_loss"] - 1.0
    assert proc.stdout.count("rank 0 of 2: val loss") == 1 and proc.stdout.count("rank 1 of 2: val loss") == 1
    runs = mlflow_client.search_runs([mlflow_client.get_experiment_by_name("cockpit-lm-ddp").experiment_id],
                                     filter_string="tags.slurm_job_id = '6262'")
    assert [r.info.run_id for r in runs] == [doc["mlflow"]["run_id"]]
