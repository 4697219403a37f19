"""Every playbook of provisioning/ansible passes `ansible-playbook --syntax-check` and ansible-lint
(production profile, settings in provisioning/ansible/.ansible-lint).

kubernetes.yml imports Kubespray's `kubernetes_sigs.kubespray.cluster`; CI has no network to
install Kubespray, so a stub collection with that playbook name stands in. It checks our wrapper
and the import name only: Kubespray itself is neither installed nor run here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3] / "provisioning" / "ansible"
BIN = Path(sys.executable).parent
PLAYBOOKS = sorted(p.name for p in PROJECT.glob("*.yml"))


@pytest.fixture(scope="module")
def stub_kubespray(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("collections")
    coll = root / "ansible_collections" / "kubernetes_sigs" / "kubespray"
    (coll / "playbooks").mkdir(parents=True)
    (coll / "galaxy.yml").write_text("namespace: kubernetes_sigs\nname: kubespray\nversion: 2.29.0\n"
                                     "readme: README.md\nauthors: [stub]\n")
    (coll / "playbooks" / "cluster.yml").write_text(
        "---\n- name: Kubespray stand-in\n  hosts: k8s_cluster\n  gather_facts: false\n  tasks: []\n")
    return root


def _env(collections: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1"}


def test_the_expected_playbooks_exist():
    assert {"site.yml", "slurm.yml", "beegfs.yml", "apptainer.yml", "mlflow.yml", "nvidia.yml",
            "kubernetes.yml"} <= set(PLAYBOOKS)


def test_syntax_check_every_playbook(stub_kubespray):
    out = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", *PLAYBOOKS],
                         cwd=PROJECT, env=_env(stub_kubespray), capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    for name in PLAYBOOKS:
        assert f"playbook: {name}" in out.stdout


def test_syntax_check_catches_a_broken_playbook(stub_kubespray, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("- name: x\n  hosts: all\n  tasks:\n    - name: y\n      ansible.builtin.copy: {dest: /x}\n      bogus_keyword: 1\n")
    out = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(broken)],
                         cwd=PROJECT, env=_env(stub_kubespray), capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "bogus_keyword" in out.stdout + out.stderr


@pytest.mark.slow
def test_ansible_lint_is_clean(stub_kubespray):
    lint = shutil.which("ansible-lint", path=str(BIN)) or shutil.which("ansible-lint")
    if lint is None:
        pytest.skip("ansible-lint is not installed (pip install ansible-lint)")
    out = subprocess.run([lint, "--nocolor", "-q", *PLAYBOOKS, "roles"], cwd=PROJECT, env=_env(stub_kubespray),
                         capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stdout + out.stderr
