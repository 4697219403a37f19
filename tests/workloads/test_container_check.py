"""container_check against the real tools: Debian's docker-registry on a loopback port, podman
import/push/pull/run (runc, private vfs storage). Skipped, with the reason, where this machine
cannot run a container (why_not() tries one for real)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from tests.workloads.conftest import REPO
from workloads.container_check import main, why_not

REASON = why_not()
needs_containers = pytest.mark.skipif(REASON is not None, reason=f"containers cannot run here: {REASON}")


def _job(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workloads.container_check", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@needs_containers
def test_registry_push_pull_and_a_container_run(tmp_path):
    work = tmp_path / "containers"
    registry = _job("registry", "--dir", str(work), "--hold", "60")
    runner = _job("run", "--dir", str(work), "--wait", "60")
    run_out, _ = runner.communicate(timeout=90)
    reg_out, _ = registry.communicate(timeout=30)
    assert runner.returncode == 0, run_out + reg_out
    assert registry.returncode == 0, reg_out
    info = json.loads((work / "registry.json").read_text())
    assert info["url"].startswith("http://127.0.0.1:") and info["digest"].startswith("sha256:")
    assert f"registry answers: GET {info['url']}/v2/ -> 200" in reg_out
    assert f"pushed and pulled back {info['image']}: digest {info['digest']}" in reg_out
    assert "run job done" in reg_out and reg_out.rstrip().endswith("registry stopped")
    assert "printed container-ok-" in run_out and f"digest {info['digest']}" in run_out
    # the registry really stopped: nothing answers on its port any more
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{info['url']}/v2/", timeout=2)
    # its blobs stayed in its own storage dir, not the system service's
    assert list((work / "registry" / "storage").rglob("data")), "no blob in the registry's storage dir"


def test_the_run_job_fails_clearly_without_a_registry_job(tmp_path, capsys):
    assert main(["run", "--dir", str(tmp_path), "--wait", "0.3"]) == 1
    err = capsys.readouterr().err
    assert f"no {tmp_path}/registry.json after 0s: the registry job did not publish an image" in err


def test_a_relative_dir_is_bad_input(capsys):
    assert main(["registry", "--dir", "containers"]) == 2
    assert "--dir containers: give an absolute path" in capsys.readouterr().err


def test_the_probe_names_what_is_missing(tmp_path):
    env = {"PATH": str(tmp_path), "PYTHONPATH": str(REPO)}  # nothing installed on this PATH
    proc = subprocess.run([sys.executable, "-m", "workloads.container_check", "probe"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3
    assert "cannot run the container checks here: not installed: podman, docker-registry, busybox" in proc.stderr


@needs_containers
def test_the_probe_passes_where_podman_runs_a_container(capsys):
    assert main(["probe"]) == 0
    assert "podman runs a container here" in capsys.readouterr().out
