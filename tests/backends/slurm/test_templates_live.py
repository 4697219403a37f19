"""Every batch template in workloads/slurm/ renders to a script the real lab's `sbatch --test-only`
accepts (the #SBATCH lines are valid and the job fits the lab: 4 nodes x 2 fake GPUs), and one
that asks for more GPUs than a node has is refused - so the check can fail."""

from __future__ import annotations

import os
import subprocess

import pytest

from cockpit.ops.slurm import SubmitParams, render_script, template_names

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]


def sbatch_test_only(slurm_lab, script: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["SLURM_CONF"] = slurm_lab.conf
    return subprocess.run(["sbatch", "--test-only"], input=script, env=env, capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize("template", template_names())
def test_sbatch_test_only_accepts_every_template(slurm_lab, template, tmp_path):
    assert {"gpu-job", "gpu-check", "train-classifier", "train-ddp"} <= set(template_names())
    params = SubmitParams(template=template, name=f"check-{template}", nodes=2 if template != "train-classifier" else 1,
                          gpus_per_node=2, cpus_per_task=1, time="00:05:00", workdir=str(tmp_path), output="%x-%j.out",
                          image="docker://registry:5000/pytorch:latest" if template == "gpu-job" else None,
                          command="python3 -m workloads.train_classifier --epochs 1",
                          env={"MLFLOW_TRACKING_URI": "http://mlflow:5000", "COCKPIT_PLAN": "demo"})
    done = sbatch_test_only(slurm_lab, render_script(params))
    assert done.returncode == 0, done.stderr
    assert "to start at" in done.stderr  # sbatch: Job 12 to start at ... using 2 processors on nodes ...


def test_sbatch_test_only_refuses_more_gpus_than_a_node_has(slurm_lab, tmp_path):
    script = render_script(SubmitParams(template="train-classifier", name="too-big", gpus_per_node=3,
                                        workdir=str(tmp_path), command="true"))
    done = sbatch_test_only(slurm_lab, script)
    assert done.returncode != 0 and "Requested node configuration is not available" in done.stderr
