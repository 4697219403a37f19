"""The plans shipped in workloads/plans/, and the demo plan end to end on what exists today.

PENDING (lead, after merging the SLURM, workloads and lab branches): the full demo plan against
the local lab (real SLURM via `cockpit lab up`, real MLflow server, libvirt test driver) -
`test_demo_plan_full_against_the_local_lab` below skips until `slurm.submit` and `slurm.cancel`
exist and COCKPIT_LAB_CONFIG names the lab's config.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.plans import load_plan
from cockpit.plans.state import EventLog, RunState

REPO = Path(__file__).resolve().parents[3]
PLANS = REPO / "workloads" / "plans"
SHIPPED = {"demo", "validate-hpc", "mlops-1.1", "mlops-2.1", "mlops-4", "mlops-5.1"}

# Every action the shipped plans call, and the parameters they pass. Other branches implement
# them; keep this list and those actions in step (cockpit plan validate names any mismatch).
ASSUMED_ACTIONS = {
    "vm.start": {"name"},
    "vm.force_off": {"name"},
    "slurm.submit": {"template", "name", "gpus", "nodes", "image", "params"},
    "slurm.cancel": {"job_id"},
    "storage.probe": {"path", "size_mb", "files"},
    "mlflow.register_model": {"run_id", "name", "artifact_path", "alias"},
    "kube.deploy_inference": {"name", "namespace", "model_name", "model_version", "gpus"},
    "kube.inference_check": {"name", "namespace", "requests", "concurrency", "protocol"},
    "kube.delete_inference": {"name", "namespace"},
}


def test_every_seed_plan_is_shipped_and_valid():
    found = {p.stem for p in PLANS.glob("*.yaml")}
    assert SHIPPED <= found
    seeds = set()
    for name in SHIPPED:
        loaded = load_plan(PLANS / f"{name}.yaml")
        assert loaded.plan.plan == name
        seeds |= set(loaded.plan.seeds)
    assert {"TASK-040", "TASK-041", "TASK-042", "TASK-043", "TASK-044", "MLOPS-1.1", "MLOPS-2.1",
            "MLOPS-4.1", "MLOPS-5.1"} <= seeds


def test_shipped_plans_use_only_the_listed_actions_and_params():
    used: dict[str, set[str]] = {}
    for path in PLANS.glob("*.yaml"):
        for step in load_plan(path).plan.steps:
            if step.action:
                used.setdefault(step.action, set()).update(step.params)
    for action, params in used.items():
        assert action in ASSUMED_ACTIONS, f"{action} is not in ASSUMED_ACTIONS"
        assert params <= ASSUMED_ACTIONS[action], (action, params - ASSUMED_ACTIONS[action])


def test_shipped_plans_against_this_build_name_only_missing_actions(capsys):
    """`cockpit plan validate` against the real registry: the only problems allowed are actions
    this build does not have yet; existing actions must accept the plans' parameters."""
    from cockpit.ops import default_registry

    registry = default_registry()
    for path in sorted(PLANS.glob("*.yaml")):
        rc = main(["plan", "validate", str(path)])
        err = capsys.readouterr().err
        lines = [line.strip() for line in err.splitlines()[1:]]
        for line in lines:
            if line.startswith("(actions known"):
                continue
            assert "unknown action" in line, f"{path.name}: {line}"
            name = line.split("'")[1]
            assert name not in registry
        assert rc == (2 if lines else 0)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_dry_run_of_shipped_plans(name, capsys):
    from cockpit.plans.engine import dry_run_lines

    lines = dry_run_lines(load_plan(PLANS / f"{name}.yaml"))
    assert lines[0].startswith(f"plan {name}:") and any("cleanup" in l for l in lines)


@pytest.mark.slow
def test_demo_plan_runs_on_the_embedded_lab_and_writes_all_reports(tmp_path, capsys):
    """Today's part of the demo: libvirt test-driver VMs and GPUs, the MLflow store, cleanup.
    The SLURM/training steps are disabled with --var slurm=false until those actions merge."""
    report = tmp_path / "report"
    rc = main(["--run", str(PLANS / "demo.yaml"), "--var", "slurm=false", "--report-dir", str(report)])
    out = capsys.readouterr().out
    assert rc == 0, out
    state = RunState.load(report / "state.json")
    passed = {sid for sid, rec in state.steps.items() if rec["status"] == "passed"}
    assert passed == {"vm_start", "vm_running", "gpu_passed_through", "mlflow_answers", "vm_off"}
    assert state.steps["submit"]["reason"] == "when: false"
    junit = (report / "junit.xml").read_text()
    assert junit.count("<testcase") == 9 and 'failures="0"' in junit
    assert "✅ passed" in (report / "summary.md").read_text()
    events = list(EventLog.read(report / "events.jsonl"))
    assert events[0]["event"] == "plan.start" and events[-1]["event"] == "plan.end"
    audit = tmp_path / "xdg_state_home" / "cockpit" / "audit.jsonl"
    acts = [json.loads(l) for l in audit.read_text().splitlines()]
    assert [(r["action"], r["actor"]["via"]) for r in acts if r["event"] == "action.end"] == [
        ("vm.start", "plan"), ("vm.force_off", "plan")]


@pytest.mark.slow
def test_demo_plan_full_against_the_local_lab(tmp_path, capsys):
    from cockpit.ops import default_registry

    registry = default_registry()
    missing = [a for a in ("slurm.submit", "slurm.cancel") if a not in registry]
    if missing or not os.environ.get("COCKPIT_LAB_CONFIG"):
        pytest.skip(f"PENDING (lead): needs actions {missing or 'ok'} and COCKPIT_LAB_CONFIG from `cockpit lab up`")
    report = tmp_path / "report"
    rc = main(["--config", os.environ["COCKPIT_LAB_CONFIG"], "--run", str(PLANS / "demo.yaml"),
               "--report-dir", str(report)])
    assert rc == 0, capsys.readouterr().out
    for name in ("junit.xml", "summary.md", "events.jsonl"):
        assert (report / name).stat().st_size > 0
    state = RunState.load(report / "state.json")
    assert all(rec["status"] == "passed" for rec in state.steps.values())
