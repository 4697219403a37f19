"""The plans shipped in workloads/plans/: valid against this build's real actions, every snapshot
field and step output they read exists, and the demo plan end to end - on the embedded demo
(libvirt test driver, SLURM switched off) and in full against the local lab: real slurmctld and
slurmd (tests/fixtures_slurm_lab.py, shared with tests/backends/slurm), a real MLflow SQLite
store, the real classifier workload run by SLURM, through `python -m cockpit --run`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from cockpit.cli import main
from cockpit.plans import load_plan
from cockpit.plans.model import RUNTIME_REF
from cockpit.plans.state import EventLog, RunState

REPO = Path(__file__).resolve().parents[3]
PLANS = REPO / "workloads" / "plans"
SHIPPED = {"demo", "validate-hpc", "mlops-1.1", "mlops-1.2", "mlops-2.1", "mlops-2.2", "mlops-3.1", "mlops-3.2", "mlops-4",
           "mlops-5.1", "mlops-5.2"}
# The plans with a lab profile (`--var profile=lab`), each run end to end in test_lab_plans.py
# (the serving ones, mlops-4 and mlops-5.1, in test_lab_serving_plans.py).
LAB_PROFILED = {"validate-hpc", "mlops-1.1", "mlops-1.2", "mlops-2.1", "mlops-2.2", "mlops-3.1", "mlops-3.2", "mlops-4",
                "mlops-5.1", "mlops-5.2"}

# Every action the shipped plans call, with the parameters they pass (a pin: renaming an action
# or a parameter breaks this test before it breaks a plan in someone's CI).
ACTIONS_USED = {
    "vm.start": {"name"},
    "vm.force_off": {"name"},
    "slurm.submit": {"template", "name", "nodes", "gpus_per_node", "cpus_per_task", "time", "image", "command",
                     "workdir", "output", "env"},
    "slurm.cancel": {"job_id"},
    "storage.probe": {"path", "size_mb", "files", "target_mb_s"},
    "mlflow.register_model": {"run_id", "model_name", "artifact_path"},
    "mlflow.set_alias": {"model_name", "alias", "version"},
    "mlflow.promote_alias": {"model_name", "alias", "version", "metric", "direction", "min_delta"},
    "kube.isvc.deploy": {"model", "version", "name", "namespace", "protocol", "gpus", "local_predictor"},
    "kube.isvc.check": {"name", "namespace", "requests", "concurrency", "protocol", "input_shape", "url", "gpus"},
    "kube.isvc.delete": {"name", "namespace"},
    "kserve.local.start": {"model", "version", "name", "log_dir", "python"},
    "kserve.local.stop": {"pid"},
}


def _plans() -> dict[str, Any]:
    return {p.stem: load_plan(p).plan for p in sorted(PLANS.glob("*.yaml"))}


def test_every_seed_plan_is_shipped_and_valid():
    found = {p.stem for p in PLANS.glob("*.yaml")}
    assert SHIPPED <= found
    seeds = set()
    for name in SHIPPED:
        loaded = load_plan(PLANS / f"{name}.yaml")
        assert loaded.plan.plan == name
        seeds |= set(loaded.plan.seeds)
    assert {"TASK-040", "TASK-041", "TASK-042", "TASK-043", "TASK-044", "MLOPS-1.1", "MLOPS-1.2", "MLOPS-2.1", "MLOPS-2.2",
            "MLOPS-3.1", "MLOPS-3.2", "MLOPS-4.1", "MLOPS-4.2", "MLOPS-5.1", "MLOPS-5.2"} <= seeds


def test_shipped_plans_use_real_actions_with_their_parameters():
    from cockpit.ops import default_registry

    registry = default_registry()
    used: dict[str, set[str]] = {}
    for plan in _plans().values():
        for step in plan.steps:
            if step.action:
                used.setdefault(step.action, set()).update(step.params)
    assert set(used) == set(ACTIONS_USED), "update ACTIONS_USED with the plans"
    for action, params in used.items():
        assert action in registry, action
        assert params <= ACTIONS_USED[action], (action, params - ACTIONS_USED[action])
        assert params <= set(registry.get(action).params.model_fields), action


def test_plan_validate_passes_on_every_shipped_plan(capsys):
    """`cockpit plan validate` against the real registry (actions, parameters, templates)."""
    for path in sorted(PLANS.glob("*.yaml")):
        rc = main(["plan", "validate", str(path)])
        captured = capsys.readouterr()
        assert rc == 0, f"{path.name}: {captured.err}"
        assert f"valid (plan {path.stem}:" in captured.out


def test_the_format_example_in_the_readme_is_a_valid_plan():
    import re

    from cockpit.ops import default_registry
    from cockpit.plans import parse_plan

    block = re.search(r"```yaml\n(.*?)```", (PLANS / "README.md").read_text(), re.S).group(1)
    loaded = parse_plan(block, "workloads/plans/README.md", registry=default_registry())
    assert [s.id for s in loaded.plan.steps][:2] == ["submit", "done"]


# -- snapshot fields and step outputs the plans read ----------------------------------------------
def _snapshot_models() -> dict[str, dict[str | None, type[BaseModel]]]:
    """Item model of each source's items (None) and of its list sections: the JSON contract."""
    from backends.beegfs.models import ClientMount, ServiceState, StorageNode, StorageTarget
    from backends.gpus.models import GpuItem
    from backends.kube.models import InferenceServiceItem, NodeItem, PodItem, TrainingJobItem, WorkloadItem
    from backends.libvirt.models import VmItem
    from backends.mlflow.models import ExperimentItem, RegisteredModelItem, RunItem
    from backends.slurm.models import Job, Node, Partition

    return {
        "vms": {None: VmItem},
        "gpus": {None: GpuItem},
        "slurm": {None: Job, "nodes": Node, "partitions": Partition},
        "storage": {None: StorageTarget, "nodes": StorageNode, "mounts": ClientMount, "services": ServiceState},
        "kubernetes": {None: PodItem, "nodes": NodeItem, "training_jobs": TrainingJobItem,
                       "inference_services": InferenceServiceItem, "workloads": WorkloadItem},
        "mlflow": {None: RunItem, "experiments": ExperimentItem, "registered_models": RegisteredModelItem},
    }


def _path_problem(model: type[BaseModel], path: str) -> str | None:
    head, _, rest = path.partition(".")
    if head not in model.model_fields:
        return f"{model.__name__} has no field {head!r}"
    if not rest:
        return None
    annotation = model.model_fields[head].annotation
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    options = typing.get_args(annotation) if union else (annotation,)
    for option in options:
        if typing.get_origin(option) is dict:
            return None  # metrics.<name>, tags.<name>, params.<name>: any key
        if isinstance(option, type) and issubclass(option, BaseModel):
            return _path_problem(option, rest)
    return f"{model.__name__}.{head} is not a mapping or model, so {path!r} cannot be read"


def _action_outputs() -> dict[str, set[str]]:
    """What the actions the plans read outputs of return (from their code)."""
    from cockpit.kube_inference import summarize

    return {
        "slurm.submit": {"job_id", "name", "template"},  # checked for real by the full demo test
        "mlflow.register_model": {"model", "version", "source", "status"},
        "mlflow.set_alias": {"model", "alias", "version"},
        "mlflow.promote_alias": {"model", "alias", "version", "metric", "direction", "new_value", "previous_version",
                                 "previous_value", "promoted", "changed", "alias_version", "reason"},
        "kube.isvc.deploy": {"created", "storage_uri", "model", "version", "uid"},
        "kube.isvc.check": set(summarize([0.01], 0, 1.0, 1)) | {"url", "protocol", "first_error"},
        "kserve.local.start": {"url", "pid", "port", "log", "model", "version", "model_dir", "python", "predictor"},
        "storage.probe": {"id", "started_at", "finished_at", "path", "size_mb", "files", "target_mb_s", "nodes",
                          "errors", "write_mb_s", "read_mb_s", "create_ops_s", "stat_ops_s", "remove_ops_s",
                          "meets_target"},
        "vm.start": set(), "vm.force_off": set(), "slurm.cancel": {"op", "target"}, "kube.isvc.delete": {"deleted"},
        "kserve.local.stop": {"pid", "stopped", "changed"},
    }


URL_OUTPUTS = {"status", "elapsed_ms", "body", "json"}


def _checks_of(step: Any) -> list[Any]:
    from cockpit.plans.conditions import expand

    conditions = [step.wait] if step.wait else list(step.assert_ or [])
    return [check for cond in conditions for check in (expand(cond) or [])]


def _refs(node: Any) -> list[str]:
    if isinstance(node, str):
        return RUNTIME_REF.findall(node)
    if isinstance(node, dict):
        return [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_snapshot_fields_and_step_outputs_the_plans_read_exist(name):
    plan = load_plan(PLANS / f"{name}.yaml").plan
    models = _snapshot_models()
    steps = {s.id: s for s in plan.steps}
    problems = []
    for step in plan.steps:
        for check in _checks_of(step):
            model = models[check.source].get(check.section)
            if model is None:
                problems.append(f"{step.id}: {check.source} has no item section {check.section!r}")
                continue
            for path in [*check.where, *([check.field] if check.field else [])]:
                if (why := _path_problem(model, path)):
                    problems.append(f"{step.id}: {why}")
        for ref in _refs(step.model_dump(mode="json", by_alias=True)):
            if not ref.startswith("steps."):
                continue
            _, source_id, *path = ref.split(".")
            source = steps[source_id]
            if source.action:
                if path[0] not in _action_outputs()[source.action]:
                    problems.append(f"{step.id}: {source.action} returns no {path[0]!r}")
            elif source.wait is not None and source.wait.kind == "url":
                if path[0] not in URL_OUTPUTS:  # cockpit/plans/conditions.py check_url
                    problems.append(f"{step.id}: a url wait returns no {path[0]!r}")
            else:
                checks = _checks_of(source)
                assert checks, f"{step.id}: {ref} reads a step that has no snapshot outputs"
                model = models[checks[0].source].get(checks[0].section)
                if path[0] not in ("count", "matched", "value") and (why := _path_problem(model, ".".join(path))):
                    problems.append(f"{step.id}: {ref}: {why}")
    assert not problems, "\n".join(problems)


def test_the_field_checker_catches_guessed_names():
    from backends.mlflow.models import RunItem
    from backends.slurm.models import Job

    assert _path_problem(RunItem, "metrics.anything") is None
    assert _path_problem(RunItem, "tags.slurm_job_id") is None
    assert "no field 'accuracy'" in _path_problem(RunItem, "accuracy")
    assert "not a mapping" in _path_problem(Job, "state.upper")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_dry_run_of_shipped_plans(name, capsys):
    from cockpit.plans.engine import dry_run_lines

    lines = dry_run_lines(load_plan(PLANS / f"{name}.yaml"))
    assert lines[0].startswith(f"plan {name}:") and any("cleanup" in l for l in lines)


# -- the demo plan ----------------------------------------------------------------------------
SLURM_STEPS = {"slurm_nodes", "submit", "job_done", "run_logged", "cancel_job"}
ALWAYS_STEPS = {"vm_start", "vm_running", "gpu_passed_through", "mlflow_answers", "vm_off"}


@pytest.mark.slow
def test_demo_plan_runs_on_the_embedded_lab_and_writes_all_reports(tmp_path, capsys):
    """Without a SLURM lab: libvirt test-driver VMs and GPUs, the MLflow store, cleanup; the
    SLURM and training steps are switched off with --var slurm=false."""
    report = tmp_path / "report"
    rc = main(["--run", str(PLANS / "demo.yaml"), "--var", "slurm=false", "--report-dir", str(report)])
    out = capsys.readouterr().out
    assert rc == 0, out
    state = RunState.load(report / "state.json")
    passed = {sid for sid, rec in state.steps.items() if rec["status"] == "passed"}
    assert passed == ALWAYS_STEPS
    assert {sid for sid, rec in state.steps.items() if rec.get("reason") == "when: false"} == SLURM_STEPS
    junit = (report / "junit.xml").read_text()
    assert junit.count("<testcase") == len(ALWAYS_STEPS | SLURM_STEPS) and 'failures="0"' in junit
    assert "✅ passed" in (report / "summary.md").read_text()
    events = list(EventLog.read(report / "events.jsonl"))
    assert events[0]["event"] == "plan.start" and events[-1]["event"] == "plan.end"
    audit = tmp_path / "xdg_state_home" / "cockpit" / "audit.jsonl"
    acts = [json.loads(l) for l in audit.read_text().splitlines()]
    assert [(r["action"], r["actor"]["via"]) for r in acts if r["event"] == "action.end"] == [
        ("vm.start", "plan"), ("vm.force_off", "plan")]


def _lab_env(tmp_path: Path, lab_config: str, tracking_uri: str) -> dict[str, str]:
    """The environment of `cockpit --run`: what `cockpit lab up` leaves behind (lab.yaml in the
    XDG config dir, merged into the embedded default config) plus MLFLOW_TRACKING_URI."""
    config_home = tmp_path / "xdg_config_home"
    (config_home / "cockpit").mkdir(parents=True, exist_ok=True)
    shutil.copy(lab_config, config_home / "cockpit" / "lab.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "COCKPIT_", "MLFLOW_"))}
    env.update(PYTHONPATH=str(REPO), XDG_CONFIG_HOME=str(config_home),
               XDG_STATE_HOME=str(tmp_path / "xdg_state_home"), XDG_DATA_HOME=str(tmp_path / "xdg_data_home"),
               MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1",
               PYTHONWARNINGS="ignore")
    return env


@pytest.mark.slow
@pytest.mark.needs_root
def test_demo_plan_full_against_the_local_lab(slurm_lab, tmp_path):
    """The issue's end-to-end check: every demo step against real slurmctld/slurmd, a real
    MLflow store and the libvirt test driver; the job runs the real classifier (digits, CPU,
    one thread) through workloads/slurm/train-classifier.sbatch.j2 and its MLflow run is found
    by its slurm_job_id tag."""
    from mlflow.tracking import MlflowClient

    report = tmp_path / "report"
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    env = _lab_env(tmp_path, slurm_lab.config_path, tracking_uri)
    # As shipped: no --var python, so the job runs with the cockpit's own interpreter (this venv).
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "--run", str(PLANS / "demo.yaml"), "--report-dir", str(report),
         "--var", "epochs=5"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    job_logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in report.glob("demo-*.out"))
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}\n{job_logs}"
    assert "plan demo: passed" in proc.stdout

    # All three reports (and the state file) say passed.
    state = RunState.load(report / "state.json")
    assert state.verdict == "passed"
    assert {sid: rec["status"] for sid, rec in state.steps.items()} == {
        sid: "passed" for sid in ALWAYS_STEPS | SLURM_STEPS}
    assert (report / "summary.md").read_text().startswith("# Plan `demo`: ✅ passed")
    junit = (report / "junit.xml").read_text()
    assert junit.count("<testcase") == 10 and 'failures="0"' in junit and 'errors="0"' in junit
    events = list(EventLog.read(report / "events.jsonl"))
    assert events[0]["event"] == "plan.start" and events[-1]["event"] == "plan.end"
    assert events[-1].get("verdict") == "passed"

    # The job really ran the workload on the lab, and MLflow holds its run, found independently.
    job_id = state.steps["submit"]["outputs"]["job_id"]
    assert isinstance(job_id, int) and state.steps["job_done"]["outputs"]["state"] == "COMPLETED"
    job_out = (report / f"demo-{state.run_id}-{job_id}.out").read_text()
    assert "final test accuracy" in job_out and f"job {job_id} done" in job_out
    runs = MlflowClient(tracking_uri).search_runs(
        [MlflowClient(tracking_uri).get_experiment_by_name("cockpit-demo").experiment_id],
        filter_string=f"tags.slurm_job_id = '{job_id}'")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and run.data.metrics["final_test_accuracy"] >= 0.9
    assert run.data.tags["plan"] == "demo" and run.data.tags["plan_step"] == "submit"
    assert run.data.tags["cockpit.source"] == "slurm" and run.data.params["epochs"] == "5"
    assert state.steps["run_logged"]["outputs"]["run_id"] == run.info.run_id

    # Every action went through the audited action layer as the plan.
    audit = [json.loads(l) for l in (tmp_path / "xdg_state_home" / "cockpit" / "audit.jsonl").read_text().splitlines()]
    submitted = next(r for r in audit if r["event"] == "action.start" and r["action"] == "slurm.submit")
    assert submitted["params"]["command"].startswith(f"{sys.executable} -m workloads.train_classifier ")
    ended = [(r["action"], r["actor"]["via"], r["ok"]) for r in audit if r["event"] == "action.end"]
    assert sorted(ended) == sorted([("vm.start", "plan", True), ("slurm.submit", "plan", True),
                                    ("slurm.cancel", "plan", True), ("vm.force_off", "plan", True)])


def _running_worker_uri(tmp_path: Path) -> str:
    """The demo host with cloud-gpu-worker-01 already running (libvirt test driver runstate 1,
    VIR_DOMAIN_RUNNING) instead of shut off (5)."""
    xml = (REPO / "provisioning" / "demo" / "workstation.xml").read_text()
    head, sep, rest = xml.partition("<name>cloud-gpu-worker-01</name>")
    assert sep and "<test:runstate>5</test:runstate>" in rest
    host = tmp_path / "workstation-worker-running.xml"
    host.write_text(head + sep + rest.replace("<test:runstate>5</test:runstate>", "<test:runstate>1</test:runstate>", 1))
    return f"test://{host}"


@pytest.mark.slow
def test_demo_plan_leaves_a_vm_that_was_already_running_on(tmp_path, capsys, monkeypatch):
    """Cleanup undoes only what the run did: vm.start found the worker running (changed: false),
    so vm_off is skipped instead of forcing it off."""
    monkeypatch.setenv("COCKPIT_LIBVIRT_URI", _running_worker_uri(tmp_path))
    report = tmp_path / "report"
    rc = main(["--run", str(PLANS / "demo.yaml"), "--var", "slurm=false", "--report-dir", str(report)])
    out = capsys.readouterr().out
    assert rc == 0, out
    state = RunState.load(report / "state.json")
    assert state.steps["vm_start"]["outputs"]["result"] == "already running"
    assert state.steps["vm_start"]["outputs"]["changed"] is False
    assert state.steps["vm_off"]["status"] == "skipped"
    assert state.steps["vm_off"]["reason"] == "nothing to clean up: vm_start changed nothing (already running)"
    audit = tmp_path / "xdg_state_home" / "cockpit" / "audit.jsonl"
    acts = [json.loads(l) for l in audit.read_text().splitlines()]
    assert [r["action"] for r in acts if r["event"] == "action.end"] == ["vm.start"]


@pytest.mark.slow
@pytest.mark.needs_root
def test_demo_plan_with_a_python_that_lacks_the_workload_says_why_the_job_failed(slurm_lab, tmp_path):
    """The issue's failure, on the real lab: the job runs an interpreter without the workload's
    packages (the system python3), slurmd reports FAILED, and the step error and the reports
    carry the end of the job's output file, where the ModuleNotFoundError is."""
    report = tmp_path / "report"
    env = _lab_env(tmp_path, slurm_lab.config_path, f"sqlite:///{tmp_path}/mlflow.db")
    system_python = shutil.which("python3", path="/usr/bin")
    assert system_python and subprocess.run([system_python, "-c", "import mlflow"], capture_output=True).returncode
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "--run", str(PLANS / "demo.yaml"), "--report-dir", str(report),
         "--var", f"python={system_python}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, f"{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
    state = RunState.load(report / "state.json")
    job_id = state.steps["submit"]["outputs"]["job_id"]
    error = state.steps["job_done"]["error"]
    assert state.steps["job_done"]["status"] == "failed"
    assert error.startswith(f"slurm item job_id={job_id!r}: state is 'FAILED'"), error
    assert "(exit code 1:0)" in error
    job_out = report / f"demo-{state.run_id}-{job_id}.out"
    assert f"last lines of {job_out}:" in error
    assert "ModuleNotFoundError: No module named" in error and "ModuleNotFoundError" in job_out.read_text()
    summary = (report / "summary.md").read_text()
    assert "## What failed" in summary and "ModuleNotFoundError: No module named" in summary
    assert "ModuleNotFoundError" in (report / "junit.xml").read_text()
    assert "ModuleNotFoundError" in proc.stdout  # the live progress shows it too
    # Cleanup still ran: the VM this run started is off again, the job cancel is a no-op.
    assert state.steps["vm_off"]["status"] == "passed" and state.steps["cancel_job"]["status"] == "passed"


@pytest.mark.parametrize("name", sorted(LAB_PROFILED))
def test_lab_profiles_load_and_each_has_an_end_to_end_test(name):
    from cockpit.ops import default_registry

    from tests.cockpit.plans import test_lab_plans, test_lab_serving_plans

    loaded = load_plan(PLANS / f"{name}.yaml", overrides={"profile": "lab"}, registry=default_registry())
    assert "lab" in loaded.plan.profiles
    # The lab profile keeps its data and job output out of /mnt (nothing there on this machine).
    for var in ("job_dir", "data_dir"):
        if var in loaded.variables:
            assert not str(loaded.variables[var]).startswith("/mnt"), (name, var)
    tests = [t for module in (test_lab_plans, test_lab_serving_plans) for t in dir(module) if t.startswith("test_")]
    assert any(name.replace("-", "_").replace(".", "_") in t for t in tests), f"no lab test for {name}"


@pytest.mark.parametrize("name", sorted(SHIPPED - {"demo"}))
def test_every_plan_states_its_seeds_success_criteria_as_checks(name):
    plan = load_plan(PLANS / f"{name}.yaml").plan
    labels = [c.seed for s in plan.steps for c in (s.assert_ or []) if c.seed]
    assert labels, f"{name}: no assert condition carries `seed:`"
    for label in labels:
        assert label.split(":", 1)[0].split("/")[0] in plan.seeds or any(
            label.startswith(seed) for seed in plan.seeds), (name, label)
    assert plan.requires, f"{name}: say what the plan needs (requires:)"


def test_validate_hpc_runs_the_loopback_container_checks_only_in_the_lab():
    """TASK-040/043 on loopback (workloads.container_check) are lab steps: off on the real cluster,
    on under --var profile=lab, and off again with --var with_lab_containers=false (where
    containers cannot run), so their seed rows read "not checked", never passed."""
    lab_steps = {"lab_containers_probe", "lab_containers_ok", "lab_registry", "lab_container_job", "lab_container_done", "lab_registry_done",
                 "lab_registry_check", "lab_container_check"}

    def switched_on(**overrides: Any) -> set[str]:
        plan = load_plan(PLANS / "validate-hpc.yaml", overrides=overrides).plan
        return {s.id for s in plan.steps if s.when} & (lab_steps | {"registry", "container_job"})

    assert switched_on() == {"registry", "container_job"}
    assert switched_on(profile="lab") == lab_steps
    assert switched_on(profile="lab", with_lab_containers="false") == set()
    probes = [s.id for s in load_plan(PLANS / "validate-hpc.yaml", overrides={"profile": "lab"}).plan.steps if s.probe]
    assert probes == ["lab_containers_ok"]
    plan = load_plan(PLANS / "validate-hpc.yaml", overrides={"profile": "lab"}).plan
    commands = [s.params["command"] for s in plan.steps if s.id in ("lab_registry", "lab_container_job")]
    assert "workloads.container_check registry --dir" in commands[0]
    assert "workloads.container_check run --dir" in commands[1]
