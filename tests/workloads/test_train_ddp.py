"""train_ddp: two CPU processes on gloo over loopback, launched by the real torchrun."""

from __future__ import annotations

import json
import socket
import sys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_under_torchrun(tmp_path, run_wl, tracking_uri, mlflow_client):
    out = tmp_path / "out"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                "--master-addr", "127.0.0.1", "--master-port", str(free_port())]
    proc = run_wl("train_ddp", ["--mlflow-uri", tracking_uri, "--output-dir", str(out), "--width", "16",
                                "--batch-size", "32", "--lr", "5e-3", "--epochs", "6", "--bench"],
                  {"SLURM_JOB_ID": "5151", "COCKPIT_PLAN": "demo", "COCKPIT_PLAN_STEP": "ddp"},
                  launcher=torchrun)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    doc = json.loads((out / "metrics.json").read_text())
    m, p = doc["metrics"], doc["params"]
    assert p["world_size"] == 2 and p["backend"] == "gloo" and p["launcher"] == "torchrun"
    assert p["global_batch_size"] == 64
    assert m["final_test_accuracy"] >= 0.93
    # DDP keeps replicas identical: the parameter checksums of both ranks agree exactly.
    assert m["param_checksum_spread"] == 0.0
    assert m["images_per_s"] > m["images_per_s_per_process"] > 0
    # Only rank 0 logs: exactly one run carries this job id.
    runs = mlflow_client.search_runs([mlflow_client.get_experiment_by_name("cockpit-train-ddp").experiment_id],
                                     filter_string="tags.slurm_job_id = '5151'")
    assert [r.info.run_id for r in runs] == [doc["mlflow"]["run_id"]]
    assert runs[0].data.tags["plan_step"] == "ddp"
    assert proc.stdout.count("BENCH workload=train_ddp") == 1
