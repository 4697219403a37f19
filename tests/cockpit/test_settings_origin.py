"""Where each source's settings came from, as the one-shot output reports it."""

from __future__ import annotations

from pathlib import Path

from cockpit import paths
from cockpit.config import lab_config_file, load_config
from cockpit.settings_origin import describe, settings_origin


def origins(loaded) -> dict:
    return {name: settings_origin(loaded, name) for name in ("vms", "gpus", "slurm", "storage", "kubernetes", "mlflow")}


def test_embedded_demo_with_nothing_in_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    demo = {"kind": "demo", "where": str(paths.DEFAULT_CONFIG)}
    assert origins(load_config()) == {"vms": demo, "gpus": demo, "slurm": None, "storage": None,
                                      "kubernetes": None, "mlflow": demo}


def test_the_users_environment_names_each_variable(monkeypatch, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("SLURM_CONF", "/etc/slurm/slurm.conf")
    got = origins(load_config())
    assert got["vms"] == got["gpus"] == {"kind": "env", "where": "LIBVIRT_DEFAULT_URI"}
    assert got["kubernetes"] == {"kind": "env", "where": "KUBECONFIG"}
    assert got["mlflow"] == {"kind": "env", "where": "MLFLOW_TRACKING_URI"}
    assert got["slurm"] == {"kind": "env", "where": "SLURM_CONF"}
    monkeypatch.setenv("SLURMRESTD_URL", "http://ctl:6820")
    assert settings_origin(load_config(), "slurm") == {"kind": "env", "where": "SLURMRESTD_URL"}
    assert describe(got["vms"]) == "environment variable LIBVIRT_DEFAULT_URI"


def test_config_file_sections_and_a_running_lab(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    mine = tmp_path / "mine.yaml"
    mine.write_text("cockpit:\n  libvirt: {hosts: [{name: ws, uri: 'qemu:///system'}]}\n"
                    "  beegfs: {management_host: mgmt}\n  kubernetes: {context: cloud}\n")
    got = origins(load_config(mine))
    assert got["vms"] == got["storage"] == {"kind": "config", "where": str(mine)}
    assert got["kubernetes"] == {"kind": "kubectl-default", "where": str(Path(tmp_path) / ".kube" / "config")}
    assert got["mlflow"] is None and got["slurm"] is None
    lab = lab_config_file()
    lab.parent.mkdir(parents=True, exist_ok=True)
    lab.write_text("cockpit:\n  slurm: {transport: cli, conf: /tmp/lab/etc/slurm.conf}\n")
    assert settings_origin(load_config(), "slurm") == {"kind": "lab", "where": str(lab)}
    assert describe(None) == "not configured"
