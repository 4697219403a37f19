"""Unit tests for the shared workload helpers (tags, rank detection, IDX, FLOPs, metrics.json)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workloads.common.device import WorkloadError
from workloads.common.dist import detect, expand_nodelist
from workloads.common.flops import flops_per_token, matmul_params, mfu, peak_flops_for
from workloads.common.idx import IdxError, read_idx, write_idx
from workloads.common.metrics_file import write_metrics_json
from workloads.common.tags import run_tags
from workloads.common.tracking import _redact_uri


def test_tags_in_a_slurm_job_under_a_plan():
    tags = run_tags({"SLURM_JOB_ID": "77", "COCKPIT_PLAN": "demo", "COCKPIT_PLAN_STEP": "train",
                     "SLURM_JOB_NODELIST": "gpu[01-02]"}, workload="train_classifier")
    assert tags == {"slurm_job_id": "77", "plan": "demo", "plan_step": "train", "cockpit.source": "slurm",
                    "cockpit.workload": "train_classifier", "slurm_nodelist": "gpu[01-02]"}


def test_tags_in_a_pod_use_hostname_and_serviceaccount_namespace(tmp_path):
    sa = tmp_path / "namespace"
    sa.write_text("mlops\n")
    tags = run_tags({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "HOSTNAME": "train-abc12"}, sa_file=sa)
    assert tags["k8s_pod"] == "train-abc12" and tags["k8s_namespace"] == "mlops"
    assert tags["cockpit.source"] == "kubernetes" and "slurm_job_id" not in tags
    # Downward-API variables win over the hostname.
    tags = run_tags({"KUBERNETES_SERVICE_HOST": "x", "HOSTNAME": "h", "POD_NAME": "p", "POD_NAMESPACE": "n"}, sa_file=sa)
    assert (tags["k8s_pod"], tags["k8s_namespace"]) == ("p", "n")


def test_tags_outside_any_scheduler():
    assert run_tags({"HOSTNAME": "laptop"}) == {"cockpit.source": "local"}


@pytest.mark.parametrize("nodelist, hosts", [
    ("gpu[01-03,07],login1", ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]),
    ("node1", ["node1"]),
    ("a[8-10]", ["a8", "a9", "a10"]),
    ("hpc-compute[1-2],hpc-gpu[001-002]", ["hpc-compute1", "hpc-compute2", "hpc-gpu001", "hpc-gpu002"]),
])
def test_expand_nodelist(nodelist, hosts):
    assert expand_nodelist(nodelist) == hosts


def test_detect_torchrun_slurm_and_single():
    t = detect({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.2", "MASTER_PORT": "29400"})
    assert (t.launcher, t.rank, t.world_size, t.local_rank, t.master_addr, t.master_port) == (
        "torchrun", 3, 4, 1, "10.0.0.2", 29400)
    s = detect({"SLURM_PROCID": "5", "SLURM_STEP_NUM_TASKS": "8", "SLURM_NTASKS": "16", "SLURM_LOCALID": "1",
                "SLURM_STEP_ID": "0", "SLURM_STEP_NODELIST": "gpu[03-06]", "SLURM_JOB_ID": "123"})
    assert (s.launcher, s.rank, s.world_size, s.local_rank, s.master_addr, s.master_port) == (
        "slurm", 5, 8, 1, "gpu03", 29500 + 123)
    # The batch script itself (no srun step) must not wait for ranks that never come.
    assert detect({"SLURM_PROCID": "0", "SLURM_NTASKS": "4", "SLURM_JOB_ID": "9"}).launcher == "single"
    with pytest.raises(WorkloadError, match="outside world size"):
        detect({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(WorkloadError, match="RANK"):
        detect({"RANK": "x", "WORLD_SIZE": "4"})


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    assert np.array_equal(read_idx(write_idx(tmp_path / f"i{suffix}", images)), images)
    assert np.array_equal(read_idx(write_idx(tmp_path / f"l{suffix}", labels)), labels)
    floats = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(read_idx(write_idx(tmp_path / f"f{suffix}", floats)), floats)


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(IdxError, match="bad magic"):
        read_idx(tmp_path / "junk")
    good = write_idx(tmp_path / "short", np.zeros((4, 2, 2), dtype=np.uint8))
    good.write_bytes(good.read_bytes()[:-3])
    with pytest.raises(IdxError, match="header says shape"):
        read_idx(good)


def test_flops_formula_matches_gpt2_small_by_hand():
    import torch

    from workloads.common.gpt import GPT, PRESETS

    with torch.device("meta"):
        model = GPT(PRESETS["gpt2-small"])
    # 12 blocks x (qkv 768*2304 + proj 768*768 + fc 768*3072 + fc2 3072*768) + lm_head 768*50304
    expected = 12 * (768 * 2304 + 768 * 768 + 2 * 768 * 3072) + 768 * 50304
    assert matmul_params(model) == expected
    assert flops_per_token(expected, 12, 768, 1024) == 6 * expected + 12 * 12 * 768 * 1024
    assert peak_flops_for("NVIDIA H100 80GB HBM3") == 989.4e12
    assert peak_flops_for("NVIDIA H100 PCIe") == 756e12
    assert peak_flops_for("Some CPU") is None
    assert mfu(1000.0, 1e9, 1e13) == pytest.approx(0.1) and mfu(1.0, 1.0, None) is None


def test_metrics_json_is_valid_json_even_with_nan(tmp_path):
    path = write_metrics_json(tmp_path / "m" / "metrics.json", {"metrics": {"a": float("nan"), "b": 1.5}})
    assert json.loads(path.read_text()) == {"metrics": {"a": None, "b": 1.5}}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temp files left


def test_tracking_uri_credentials_are_redacted():
    assert _redact_uri("https://user:s3cret@mlflow.example:5000/x") == "https://***@mlflow.example:5000/x"
    assert _redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert _redact_uri("sqlite:////tmp/m.db") == "sqlite:////tmp/m.db"
