"""Plan profiles (`--var profile=NAME`), `requires:`, seed-labelled checks in the summary, and
`cockpit plan list`."""

from __future__ import annotations

import json

import pytest

from cockpit.cli import main
from cockpit.errors import ConfigError
from cockpit.plans import parse_plan
from cockpit.plans.reports import seed_checks

PROFILED = """
plan: p
seeds: [MLOPS-1.1]
requires: [slurm, mlflow]
vars: {epochs: 6, data: /mnt/beegfs/mnist, cpus: 8}
profiles:
  lab: {epochs: 2, data: "${run.report_dir}/data"}
steps:
  - {id: a, action: test.echo, params: {value: "${epochs} ${data} ${cpus}"}}
"""


def test_a_profile_sets_its_variables_and_var_still_wins():
    assert parse_plan(PROFILED, env={}).plan.steps[0].params["value"] == "6 /mnt/beegfs/mnist 8"
    lab = parse_plan(PROFILED, env={}, overrides={"profile": "lab"})
    assert lab.plan.steps[0].params["value"] == "2 ${run.report_dir}/data 8"  # run refs stay for run time
    assert lab.variables["epochs"] == 2 and lab.plan.requires == ["slurm", "mlflow"]
    both = parse_plan(PROFILED, env={}, overrides={"profile": "lab", "epochs": 3})
    assert both.plan.steps[0].params["value"].startswith("3 ")


def test_a_profile_the_plan_cannot_offer_says_why():
    text = PROFILED.replace("profiles:\n", "profiles:\n  gpu: needs a GPU node, this plan has none\n")
    assert parse_plan(text, env={}).plan.profiles["gpu"] == "needs a GPU node, this plan has none"
    with pytest.raises(ConfigError) as info:
        parse_plan(text, "p.yaml", env={}, overrides={"profile": "gpu"})
    assert info.value.problems == ["--var profile=gpu: not available for this plan: needs a GPU node, this plan has none"]


def test_unknown_profile_and_undeclared_profile_variable_are_errors():
    with pytest.raises(ConfigError) as info:
        parse_plan(PROFILED, "p.yaml", env={}, overrides={"profile": "gpu-farm"})
    assert info.value.problems == ["--var profile=gpu-farm: the plan has no such profile (its profiles: lab)"]
    bad = PROFILED.replace("lab: {epochs: 2,", "lab: {epohcs: 2,")
    with pytest.raises(ConfigError) as info:
        parse_plan(bad, "p.yaml", env={}, overrides={"profile": "lab"})
    assert "profiles -> lab -> epohcs: not a variable of the plan (declare it under vars:)" in info.value.problems
    with pytest.raises(ConfigError) as info:
        parse_plan(PROFILED.replace("[slurm, mlflow]", "[slurm, quantum]"), "p.yaml", env={})
    assert any(p.startswith("requires[1]:") for p in info.value.problems), info.value.problems


SEEDED = """
plan: s
seeds: [TASK-041]
vars: {gate: true, write: 420.5}
steps:
  - id: probe
    assert:
      - value: {value: "${write}", ge: 1000}
        seed: "TASK-041: write >= 1000 MB/s"
        required: "${gate}"
      - value: {value: 3, equals: 3}
        seed: "TASK-041: files created"
  - id: later
    needs: probe
    assert:
      - value: {value: 1, equals: 1}
        seed: "TASK-041: never reached when probe fails"
  - id: switched_off
    when: false
    assert:
      - value: {value: 1, equals: 1}
        seed: "TASK-040: switched off here"
"""


async def test_seed_checks_report_verdicts_figures_and_what_was_not_checked(run, tmp_path):
    runner = await run(SEEDED)
    assert runner.verdict == "failed"
    checks = {c["seed"]: c for c in seed_checks(runner.state, runner.loaded.plan)}
    assert checks["TASK-041: write >= 1000 MB/s"]["verdict"] == "failed"
    assert "420.5" in checks["TASK-041: write >= 1000 MB/s"]["detail"]
    assert checks["TASK-041: files created"]["verdict"] == "passed"
    assert checks["TASK-041: never reached when probe fails"]["verdict"] == "not checked"
    assert checks["TASK-040: switched off here"]["verdict"] == "not checked"
    assert "when: false" in checks["TASK-040: switched off here"]["detail"]
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "## Seed checks" in summary and "| TASK-041: write >= 1000 MB/s | ❌ failed | 420.5 | value 420.5 is not" in summary


async def test_a_check_that_is_not_required_is_reported_but_does_not_fail(run, tmp_path):
    runner = await run(SEEDED, overrides={"gate": False})
    assert runner.verdict == "passed"
    checks = {c["seed"]: c for c in seed_checks(runner.state, runner.loaded.plan)}
    write = checks["TASK-041: write >= 1000 MB/s"]
    assert write["verdict"] == "failed" and "reported only" in write["detail"]
    assert checks["TASK-041: never reached when probe fails"]["verdict"] == "passed"


def test_plan_list_shows_seeds_needs_and_profiles(capsys):
    rc = main(["plan", "list", "--json"])
    listed = {e["plan"]: e for e in json.loads(capsys.readouterr().out)}
    assert rc == 0
    assert listed["mlops-2.1"]["seeds"] == ["MLOPS-2.1"] and "lab" in listed["mlops-2.1"]["profiles"]
    assert {"slurm", "mlflow", "gpu"} <= set(listed["mlops-2.1"]["requires"])
    assert "kubernetes" in listed["mlops-4"]["requires"] and not any(e["problems"] for e in listed.values())
    assert listed["mlops-4"]["profiles"] == ["lab"] and listed["mlops-5.1"]["profiles"] == ["lab"]


def test_plan_list_marks_a_profile_the_plan_cannot_offer(tmp_path, capsys):
    (tmp_path / "gpu-only.yaml").write_text(
        'plan: gpu-only\nseeds: [X-1]\nrequires: [gpu]\nprofiles: {lab: "needs a GPU node"}\n'
        "steps:\n  - {id: a, sleep: 0}\n")
    rc = main(["plan", "list", "--json", str(tmp_path)])
    listed = {e["plan"]: e for e in json.loads(capsys.readouterr().out)}
    assert rc == 0 and listed["gpu-only"]["profiles"] == ["lab (unavailable)"]


def test_plan_list_names_a_file_that_does_not_load(tmp_path, capsys):
    (tmp_path / "good.yaml").write_text("plan: good\nseeds: [X-1]\nrequires: [slurm]\nsteps:\n  - {id: a, sleep: 0}\n")
    (tmp_path / "bad.yaml").write_text("plan: bad\nsteps: []\n")
    rc = main(["plan", "list", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 2 and "good" in out and "X-1" in out and "invalid" in out
    assert main(["plan", "list", str(tmp_path / "nope")]) == 2


PROBED = """
plan: probed
steps:
  - id: can_do
    probe: true
    assert:
      - value: {value: "${can}", equals: "yes"}
        message: no container runtime on this machine
  - id: uses_it
    needs: can_do
    assert:
      - value: {value: 1, equals: 1}
        seed: "TASK-043: needs what the probe checks"
  - id: after
    needs: uses_it
    assert:
      - value: {value: 2, equals: 2}
        seed: "TASK-043: two steps down"
  - id: independent
    assert:
      - value: {value: 3, equals: 3}
        seed: "TASK-041: unrelated"
vars: {can: "no"}
"""


async def test_a_failed_probe_skips_what_needs_it_with_its_reason_and_does_not_fail_the_run(run, tmp_path):
    runner = await run(PROBED)
    assert runner.verdict == "passed"
    steps = runner.state.steps
    assert steps["can_do"]["status"] == "skipped"
    reason = steps["can_do"]["reason"]
    assert reason.startswith("cannot run here: ") and "no container runtime on this machine" in reason
    assert steps["uses_it"]["status"] == steps["after"]["status"] == "skipped"
    assert steps["uses_it"]["reason"] == steps["after"]["reason"] == reason
    checks = {c["seed"]: c for c in seed_checks(runner.state, runner.loaded.plan)}
    for seed in ("TASK-043: needs what the probe checks", "TASK-043: two steps down"):
        assert checks[seed]["verdict"] == "not checked" and checks[seed]["detail"] == reason
    assert checks["TASK-041: unrelated"]["verdict"] == "passed"
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "| TASK-043: two steps down | ⏭ not checked |  | cannot run here: " in summary


async def test_a_passing_probe_lets_what_needs_it_run(run):
    runner = await run(PROBED, overrides={"can": "yes"})
    assert runner.verdict == "passed"
    assert {sid: rec["status"] for sid, rec in runner.state.steps.items()} == dict.fromkeys(
        ("can_do", "uses_it", "after", "independent"), "passed")


async def test_a_step_that_is_not_a_probe_still_fails_the_run(run):
    runner = await run(PROBED.replace("    probe: true\n", ""))
    assert runner.verdict == "failed" and runner.state.steps["can_do"]["status"] == "failed"
    assert runner.state.steps["uses_it"]["reason"] == "needs can_do, which failed"


def test_a_long_or_many_line_reason_keeps_its_cause_in_the_seed_table():
    from cockpit.plans.reports import _one_line

    cause = "cannot run here: " + "/very/long/path/" * 20 + ".venv-oumi/bin/python: No such file or directory"
    cell = _one_line(cause, 200)
    assert len(cell) <= 200 and cell.startswith("cannot run here: /very") and cell.endswith("No such file or directory")
    assert _one_line("step failed\n\n  Traceback ...\nOSError: disk full\n", 200) == "step failed … OSError: disk full"
    assert _one_line("short", 200) == "short" and _one_line("", 200) == ""
