"""SLURM actions without a cluster: templates, parameter checks, confirmation texts, config."""

from __future__ import annotations

import pytest

from cockpit.actions import InvalidParams
from cockpit.config import parse_config
from cockpit.ops import default_registry
from cockpit.ops.slurm import SubmitParams, job_spec, render_script, template_names


def test_templates_render_with_gres_nodes_time_partition_and_image():
    assert {"gpu-job", "gpu-check"} <= set(template_names())
    p = SubmitParams(name="val-1", partition="gpu", nodes=2, gpus_per_node=4, time="1-00:00:00",
                     image="/images/pytorch.sif", command="python train.py --epochs 1")
    script = render_script(p)
    for line in ("#SBATCH --job-name=val-1", "#SBATCH --partition=gpu", "#SBATCH --nodes=2", "#SBATCH --gres=gpu:4",
                 "#SBATCH --time=1-00:00:00", "apptainer exec --nv /images/pytorch.sif bash -c 'python train.py --epochs 1'"):
        assert line in script
    plain = render_script(SubmitParams(gpus_per_node=0, command="hostname"))
    assert "--gres" not in plain and "--partition" not in plain and "\nhostname\n" in plain
    assert job_spec(p)["time_limit_min"] == 1440 and job_spec(SubmitParams(time="90"))["time_limit_min"] == 90


def test_env_is_exported_quoted_before_the_command_in_every_template():
    env = {"MLFLOW_TRACKING_URI": "sqlite:////data/ml flow.db", "COCKPIT_PLAN": "demo", "EPOCHS": 3, "DEBUG": True}
    for template in template_names():
        if template == "gpu-check":
            continue  # runs no user command
        script = render_script(SubmitParams(template=template, command="python3 -m workloads.train_classifier", env=env))
        assert "export MLFLOW_TRACKING_URI='sqlite:////data/ml flow.db'\n" in script, template
        assert "export EPOCHS=3\n" in script and "export DEBUG=true\n" in script
        assert script.index("export COCKPIT_PLAN=demo") < script.rindex("workloads.train_classifier"), template
    classifier = render_script(SubmitParams(template="train-classifier", cpus_per_task=4, command="true"))
    assert 'export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"' in classifier and "--cpus-per-task=4" in classifier
    ddp = render_script(SubmitParams(template="train-ddp", nodes=2, gpus_per_node=4, command="python3 -m workloads.train_ddp"))
    assert "#SBATCH --ntasks-per-node=4" in ddp and "srun --kill-on-bad-exit=1 bash -c 'python3 -m workloads.train_ddp'" in ddp


def test_confirmation_shows_the_rendered_script():
    registry = default_registry()
    action = registry.get("slurm.submit")
    params = SubmitParams(name="check", gpus_per_node=2)
    text = action.confirmation(params)
    assert "2 GPU(s) per node" in text and "#SBATCH --gres=gpu:2" in text and "the default partition" in text
    cancel = registry.get("slurm.cancel")
    assert "Cancel SLURM job 42" in cancel.confirmation(cancel.params(job_id=42))
    assert registry.get("slurm.cancel").danger.value == "destroy"
    drain = registry.get("slurm.drain")
    assert "node3" in drain.confirmation(drain.params(node="node3", reason="fan"))


@pytest.mark.parametrize("params, words", [
    ({"name": "bad name"}, "name"), ({"name": "x\n#SBATCH --uid=0"}, "name"), ({"template": "nope"}, "unknown template"),
    ({"time": "soon"}, "time limit"), ({"nodes": 0}, "nodes"), ({"partition": "a;b"}, "partition"),
    ({"image": "a\nb"}, "one non-empty line"), ({"env": {"BAD-NAME": "x"}}, "environment variable name"),
    ({"env": {"X": "a\nb"}}, "one line"),
])
async def test_bad_submit_params_are_refused_with_the_field_named(params, words, tmp_path):
    from cockpit.runtime import build_runtime

    rt = build_runtime(parse_config("{}", "test"), sources=("slurm",), audit_path=tmp_path / "a.jsonl")
    with pytest.raises(InvalidParams, match=words):
        await rt.invoke("slurm.submit", params)
    await rt.close()


def test_build_source_from_config_and_environment():
    from backends.slurm.source import build_source
    from backends.slurm.transport import SlurmError, SshRunner
    from cockpit.source_types import NotConfigured, UnconfiguredSource
    from cockpit.sources import HINTS, build_source as build_registered

    with pytest.raises(NotConfigured):
        build_source(parse_config("{}", "t", env={}))
    unconfigured = build_registered("slurm", parse_config("{}", "t", env={}))
    assert isinstance(unconfigured, UnconfiguredSource) and unconfigured.hint == HINTS["slurm"]
    rest = build_source(parse_config("{}", "t", env={"SLURMRESTD_URL": "http://h:6820", "SLURM_JWT": "tok"}))
    assert rest.transport.kind == "rest" and rest.transport._headers()["X-SLURM-USER-TOKEN"] == "tok"
    cli = build_source(parse_config("{}", "t", env={"SLURM_CONF": "/etc/slurm/x.conf"}))
    assert cli.transport.kind == "cli" and cli.transport.runner.env()["SLURM_CONF"] == "/etc/slurm/x.conf"
    with pytest.raises(SlurmError, match="ssh_host"):
        build_source(parse_config("cockpit: {slurm: {transport: ssh}}", "t", env={}))
    with pytest.raises(SlurmError, match="pyslurm"):
        build_source(parse_config("cockpit: {slurm: {transport: pyslurm}}", "t", env={}))
    ssh = build_source(parse_config("cockpit: {slurm: {transport: ssh, ssh_host: ctl, conf: /etc/s.conf}}", "t", env={}))
    assert ssh.transport.kind == "cli" and isinstance(ssh.transport.runner, SshRunner)
    assert ssh.transport.label == "ssh ctl:22"  # host and the default port, no user configured
