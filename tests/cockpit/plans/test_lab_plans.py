"""Each shipped plan's lab profile (`--var profile=lab`) end to end against the local labs: the
session's real SLURM lab (tests/fixtures_slurm_lab.py: slurmctld, 4 slurmd with fake GPUs as GRES,
slurmdbd, slurmrestd), a real MLflow SQLite store the jobs log to, the real workloads on CPU, run
through `python -m cockpit --run` as a person runs it.

The three reports of each run are copied to $COCKPIT_PLAN_ARTIFACTS/<plan>/ when that is set
(CI keeps them as artifacts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.plans.state import RunState
from tests.cockpit.plans.test_shipped_plans import PLANS, _lab_env
from tests.workloads.oumi_venv import OUMI_PYTHON
from tests.workloads.oumi_venv import SKIP_REASON as NO_OUMI_VENV

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]


def run_lab_plan(name: str, slurm_lab, tmp_path: Path, *extra: str, timeout: float = 300,
                 store: Path | None = None, env: dict[str, str | None] | None = None,
                 keep: bool = True) -> tuple[RunState, Path, str]:
    """Run one plan with --var profile=lab; returns its state, report dir and stdout. The MLflow
    store is <store or tmp_path>/mlflow.db; `env` adds variables (None: removes one). `keep`:
    False for a run made to fail on purpose, so CI's artifacts keep the plan's real run."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    report = tmp_path / "report"
    tracking_uri = f"sqlite:///{store or tmp_path}/mlflow.db"
    extra_env = env or {}
    env = {k: v for k, v in {**_lab_env(tmp_path, slurm_lab.config_path, tracking_uri), **extra_env}.items()
           if v is not None}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "--run", str(PLANS / f"{name}.yaml"), "--var", "profile=lab",
         "--report-dir", str(report), *extra],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - started
    artifacts = os.environ.get("COCKPIT_PLAN_ARTIFACTS")
    if artifacts and keep:
        dest = Path(artifacts) / name
        dest.mkdir(parents=True, exist_ok=True)
        for report_file in ("summary.md", "junit.xml", "events.jsonl"):
            if (report / report_file).exists():
                shutil.copy(report / report_file, dest / report_file)
    job_logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in report.glob("*.out"))
    summary = (report / "summary.md").read_text() if (report / "summary.md").exists() else "(no summary)"
    assert proc.returncode == 0, f"{name} took {took:.0f}s\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}\n{summary}\n{job_logs}"
    print(f"plan {name} --var profile=lab: passed in {took:.1f}s")
    return RunState.load(report / "state.json"), report, proc.stdout


def _seed_rows(summary: str) -> list[str]:
    part = summary.split("## Seed checks", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("| ") and not line.startswith("| criterion")]


def test_mlops_1_1_lab_profile(slurm_lab, tmp_path):
    from mlflow.tracking import MlflowClient

    state, report, _ = run_lab_plan("mlops-1.1", slurm_lab, tmp_path)
    assert state.verdict == "passed"
    # The plan staged its own data (a SLURM job) and the classifier read it from there.
    assert sorted(p.name for p in (report / "data").iterdir()) == [
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    job_id = state.steps["submit"]["outputs"]["job_id"]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("mlops-1.1").experiment_id],
                              filter_string=f"tags.slurm_job_id = '{job_id}'")
    assert len(runs) == 1 and runs[0].data.metrics["final_test_accuracy"] >= 0.97
    assert runs[0].data.params["data_source"] == str(report / "data")
    assert runs[0].data.params["train_size"] == "1437"
    rows = _seed_rows((report / "summary.md").read_text())
    assert len(rows) == 2 and all("✅ passed" in r for r in rows), rows
    assert any("test accuracy >= 0.97" in r for r in rows)


def test_mlops_2_1_lab_profile(slurm_lab, tmp_path):
    """DDP across two lab nodes through srun (gloo on CPU) after a one-process baseline."""
    from mlflow.tracking import MlflowClient

    state, report, _ = run_lab_plan("mlops-2.1", slurm_lab, tmp_path)
    assert state.verdict == "passed"
    job_id = state.steps["submit"]["outputs"]["job_id"]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("mlops-2.1").experiment_id],
                              filter_string=f"tags.slurm_job_id = '{job_id}'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["world_size"] == "2" and run.data.params["backend"] == "gloo"
    base = state.steps["baseline_run"]["outputs"]["metrics"]["images_per_s"]
    expected = run.data.metrics["images_per_s"] / (2 * base)
    assert run.data.metrics["scaling_efficiency"] == pytest.approx(expected, rel=1e-6)
    job_out = (report / f"mlops-2.1-{state.run_id}-{job_id}.out").read_text()
    assert "rank 0 of 2:" in job_out and "scaling efficiency" in job_out
    rows = _seed_rows((report / "summary.md").read_text())
    assert len(rows) == 6 and all("✅ passed" in r for r in rows), rows
    assert any("scaling efficiency" in r and f"{run.data.metrics['scaling_efficiency']:.4g}"[:4] in r for r in rows), rows


def test_mlops_1_2_lab_profile(slurm_lab, tmp_path):
    """A tiny GPT built on the spot, fine-tuned through SLURM, logged to MLflow."""
    from mlflow.tracking import MlflowClient

    state, report, _ = run_lab_plan("mlops-1.2", slurm_lab, tmp_path)
    job_id = state.steps["submit"]["outputs"]["job_id"]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("mlops-1.2").experiment_id],
                              filter_string=f"tags.slurm_job_id = '{job_id}'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["preset"] == "tiny" and run.data.params["model_family"] == "gpt"
    assert run.data.metrics["final_val_loss"] < run.data.metrics["initial_val_loss"]
    rows = _seed_rows((report / "summary.md").read_text())
    assert len(rows) == 3 and all("✅ passed" in r for r in rows), rows


def test_mlops_5_2_lab_profile_promotes_only_a_better_model(slurm_lab, tmp_path):
    """Run the pipeline twice on one MLflow store: the first version takes the alias; the second,
    trained for a single epoch (a worse model), is registered but the alias stays on version 1."""
    from mlflow.tracking import MlflowClient

    first, report, _ = run_lab_plan("mlops-5.2", slurm_lab, tmp_path)
    promote = first.steps["promote"]["outputs"]
    assert promote["promoted"] is True and promote["version"] == "1" and promote["previous_version"] is None
    second, report2, _ = run_lab_plan("mlops-5.2", slurm_lab, tmp_path / "again", "--var", "epochs=1",
                                      store=tmp_path)
    again = second.steps["promote"]["outputs"]
    assert again["version"] == "2" and again["promoted"] is False and again["previous_version"] == "1"
    assert again["new_value"] < again["previous_value"] and "stays" in again["reason"]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    assert str(client.get_model_version_by_alias("image-classifier", "champion").version) == "1"
    assert len(client.search_model_versions("name = 'image-classifier'")) == 2
    rows = _seed_rows((report2 / "summary.md").read_text())
    assert len(rows) == 3 and all("✅ passed" in r for r in rows), rows


def test_validate_hpc_lab_profile_reports_what_it_cannot_check(slurm_lab, tmp_path):
    """TASK-041 on a local directory (the 1 GB/s verdict reported either way, with its figure),
    TASK-042 on the lab's GRES, TASK-044's training and "monitoring works" (a loopback Prometheus
    scraping serve-metrics); TASK-040 and 043 on loopback (a real docker-registry, an image pushed
    and pulled back, a SLURM job running it with podman); the hpc-controller registry, the
    Apptainer GPU container job and the real monitoring stack are listed as not checked, never
    as passed."""
    from workloads.container_check import why_not

    reason = why_not()
    state, report, _ = run_lab_plan("validate-hpc", slurm_lab, tmp_path)
    assert state.verdict == "passed"
    probe = state.steps["storage_probe"]["outputs"]
    rows = _seed_rows((report / "summary.md").read_text())
    by_task = {r.split(":", 1)[0].strip("| "): r for r in rows}
    write_row = next(r for r in rows if "TASK-041: write" in r)
    met = probe["write_mb_s"] >= 1000
    assert ("✅ passed" if met else "❌ failed") in write_row and f"{probe['write_mb_s']!r}"[:5] in write_row, write_row
    if not met:
        assert "reported only" in write_row
    for task in ("TASK-040", "TASK-043"):
        assert "⏭ not checked" in by_task[task], by_task[task]
    assert "⏭ not checked" in next(r for r in rows if "the monitoring stack (Prometheus) answers" in r)
    # monitoring works: the lab's serve-metrics scraped by a loopback Prometheus, read back
    works = next(r for r in rows if "TASK-044: monitoring works" in r)
    if shutil.which("prometheus"):
        assert "✅ passed" in works, works
        series = state.steps["monitoring_series"]["outputs"]["series"]
        assert series["cockpit_gpu_info"] >= 1 and series["cockpit_source_up == 1"] >= 1, series
        # the check returns at the first scrape with both series; the libvirt sources answer first
        assert {"vms", "gpus"} <= set(state.steps["monitoring_series"]["outputs"]["sources_up"])
    else:
        assert "⏭ not checked" in works and "prometheus binary is not installed" in works, works
    assert "✅ passed" in next(r for r in rows if "TASK-042: a job" in r)
    assert "✅ passed" in next(r for r in rows if "TASK-044: a training job" in r)
    lab_rows = [by_task["TASK-040 (lab)"], by_task["TASK-043 (lab)"]]
    if reason:  # this machine cannot run a container: the plan's probe says so, never passed
        assert all("⏭ not checked" in r and "cannot run here: " in r for r in lab_rows), lab_rows
        pytest.skip(f"TASK-040/043 lab part not run here: {reason}")
    assert all("✅ passed" in r for r in lab_rows), lab_rows
    registry_out = (report / f"validate-registry-{state.run_id}-{state.steps['lab_registry']['outputs']['job_id']}.out")
    container_out = (report / f"validate-container-{state.run_id}-"
                     f"{state.steps['lab_container_job']['outputs']['job_id']}.out")
    registry_text, container_text = registry_out.read_text(), container_out.read_text()
    assert "registry answers: GET http://127.0.0.1:" in registry_text and "/v2/ -> 200" in registry_text
    assert "pushed and pulled back 127.0.0.1:" in registry_text and "registry stopped" in registry_text
    assert "printed container-ok-" in container_text, container_text
    assert not any("passed" in r for r in rows if r.split(":", 1)[0].strip("| ") in ("TASK-040", "TASK-043"))


def test_mlops_2_2_lab_profile(slurm_lab, tmp_path):
    """Data-parallel LM training across two lab nodes through srun (gloo on CPU)."""
    state, report, _ = run_lab_plan("mlops-2.2", slurm_lab, tmp_path)
    job_id = state.steps["submit"]["outputs"]["job_id"]
    params = state.steps["run_finished"]["outputs"]["params"]
    assert params["world_size"] == "2" and params["backend"] == "gloo" and params["launcher"] == "slurm"
    job_out = (report / f"mlops-2.2-{state.run_id}-{job_id}.out").read_text()
    assert "rank 0 of 2: val loss" in job_out and "rank 1 of 2: val loss" in job_out
    rows = _seed_rows((report / "summary.md").read_text())
    assert len(rows) == 4 and all("✅ passed" in r for r in rows), rows


def test_a_failed_job_shows_its_last_output_lines_in_the_summary(slurm_lab, tmp_path):
    """mlops-1.1's lab profile told to expect a data set that is not there: the staging job fails,
    and the step's error and the summary carry the job's own words; nothing after it runs."""
    report = tmp_path / "report"
    env = _lab_env(tmp_path, slurm_lab.config_path, f"sqlite:///{tmp_path}/mlflow.db")
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "--run", str(PLANS / "mlops-1.1.yaml"), "--var", "profile=lab",
         "--var", "data_source=present", "--report-dir", str(report)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    state = RunState.load(report / "state.json")
    error = state.steps["staged"]["error"]
    assert "state is 'FAILED'" in error and "(exit code 2:0)" in error, error
    assert "stage_data: error: --out" in error and "no data set there" in error, error
    assert state.steps["submit"]["status"] == "skipped"
    summary = (report / "summary.md").read_text()
    assert "## What failed" in summary and "stage_data: error: --out" in summary
    rows = _seed_rows(summary)
    assert len(rows) == 2 and all("⏭ not checked" in r for r in rows), rows


# MLOPS-3.1 / 3.2 need the opt-in Oumi venv (oumi 0.9 beside the CPU torch 2.13.0).

@pytest.mark.skipif(not OUMI_PYTHON.exists(), reason=NO_OUMI_VENV)
def test_mlops_3_1_lab_profile(slurm_lab, tmp_path):
    """`oumi train` (TRL SFT) on a tiny Llama made on the spot, as a SLURM job; Oumi validated the
    config and the training loss Oumi logged dropped."""
    from mlflow.tracking import MlflowClient

    state, report, _ = run_lab_plan("mlops-3.1", slurm_lab, tmp_path, timeout=600)
    assert state.verdict == "passed"
    job_id = state.steps["train"]["outputs"]["job_id"]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("mlops-3.1").experiment_id],
                              filter_string=f"tags.slurm_job_id = '{job_id}'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["oumi_version"] == "0.9" and run.data.params["torch_version"].startswith("2.13.0")
    assert run.data.params["validated_by"] == "oumi" and run.data.params["trainer_type"] == "TRL_SFT"
    assert run.data.metrics["final_loss"] < run.data.metrics["first_loss"]
    # Oumi's own output: the trained model and the trainer state it saved, in the run's directory
    work = report / f"oumi-{state.run_id}"
    assert (work / "trained" / "model.safetensors").is_file() and (work / "trained" / "trainer_state.json").is_file()
    job_out = (report / f"mlops-3.1-{state.run_id}-{job_id}.out").read_text()
    assert "oumi train -c" in job_out and "Training is Complete" in job_out
    rows = _seed_rows((report / "summary.md").read_text())
    assert len(rows) == 4 and all("✅ passed" in r for r in rows), rows


@pytest.mark.skipif(not OUMI_PYTHON.exists(), reason=NO_OUMI_VENV)
def test_mlops_3_2_lab_profile(slurm_lab, tmp_path):
    """`oumi evaluate` as a SLURM job on the base and the fine-tuned tiny model: the held-out
    perplexity Oumi's evaluator saved is lower after training."""
    from mlflow.tracking import MlflowClient

    state, report, _ = run_lab_plan("mlops-3.2", slurm_lab, tmp_path, timeout=600)
    assert state.verdict == "passed"
    job_id = state.steps["evaluate"]["outputs"]["job_id"]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("mlops-3.2").experiment_id],
                              filter_string=f"tags.slurm_job_id = '{job_id}'")
    assert len(runs) == 1
    metrics = runs[0].data.metrics
    assert metrics["tuned_perplexity"] < metrics["base_perplexity"]
    assert metrics["perplexity_drop"] == pytest.approx(metrics["base_perplexity"] - metrics["tuned_perplexity"])
    # a random-init model is about uniform over its 1024-token vocabulary
    assert 500 < metrics["base_perplexity"] < 2000
    work = report / f"oumi-{state.run_id}"
    assert len(list((work / "eval" / "tuned").glob("custom_*/task_result.json"))) == 1
    job_out = (report / f"mlops-3.2-{state.run_id}-{job_id}.out").read_text()
    assert job_out.count("oumi evaluate -c") == 2 and "cockpit_heldout_perplexity" in job_out
    rows = _seed_rows((report / "summary.md").read_text())
    assert len(rows) == 3 and all("✅ passed" in r for r in rows), rows


def test_mlops_3_1_without_oumi_reads_not_checked_with_the_reason(slurm_lab, tmp_path):
    """Where `oumi_python` has no Oumi, the probe job fails and says why; every seed check reads
    "not checked: cannot run here", none passed, and no training job is submitted."""
    missing = tmp_path / "no-oumi" / "bin" / "python"
    state, report, _ = run_lab_plan("mlops-3.1", slurm_lab, tmp_path, "--var", f"oumi_python={missing}", keep=False)
    assert state.steps["oumi_here"]["status"] == "skipped"
    reason = state.steps["oumi_here"]["reason"]
    assert reason.startswith("cannot run here: ") and f"{missing}: No such file or directory" in reason, reason
    assert all(state.steps[s]["status"] == "skipped" for s in ("prepare", "train", "targets"))
    rows = _seed_rows((report / "summary.md").read_text())
    assert len(rows) == 4 and all("⏭ not checked" in r and "cannot run here" in r for r in rows), rows
