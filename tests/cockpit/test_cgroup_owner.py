"""Which work a process belongs to, from /proc/PID/cgroup files recorded or quoted from real
systems (tests/fixtures/cgroups/README.md names each source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cgroup_owner import CgroupOwner, cgroup_path, owner_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cgroups"


@pytest.mark.parametrize("name, owner", [
    ("slurm-v2-step.txt", CgroupOwner("slurm_job", "1392969", "0")),
    ("slurm-v1-interactive.txt", CgroupOwner("slurm_job", "280678", "interactive")),
    ("slurm-v2-extern.txt", CgroupOwner("slurm_job", "42", "extern")),
    ("slurmstepd-own.txt", None),
    ("pod-systemd-crio.txt", CgroupOwner("pod", "0b7632a2-a56e-4278-987a-22de18008dbe", None)),
    ("pod-guaranteed-containerd.txt", CgroupOwner("pod", "d80f4a0e-576f-47a8-a0cf-69dc23dc1980",
                                                  "cri-containerd 0123456789ab")),
    ("pod-cgroupfs.txt", CgroupOwner("pod", "12345678-1234-1234-1234-123456789abc", None)),
    ("podman-cgroupfs-this-machine.txt", CgroupOwner("container", "d6c28b15fdf5", "libpod")),
    ("this-machine-hybrid.txt", None),
    ("gpu-host-process-h200.txt", None),
])
def test_owner_from_recorded_cgroup_files(name, owner):
    assert owner_of(cgroup_path((FIXTURES / name).read_text())) == owner


def test_unified_root_falls_back_to_the_deepest_v1_path():
    text = (FIXTURES / "this-machine-hybrid.txt").read_text()
    path = cgroup_path(text)
    assert path is not None and path.startswith("/") and path != "/"
    assert cgroup_path("0::/\n") == "/"
    assert cgroup_path("garbage\n") is None


@pytest.mark.parametrize("path, owner", [
    ("/system.slice/gpu01_slurmstepd.scope/job_7/step_batch/user/task_special",  # multiple-slurmd
     CgroupOwner("slurm_job", "7", "batch")),
    ("/slurm_gpu01/uid_1000/job_9/step_0/task_0", CgroupOwner("slurm_job", "9", "0")),
    ("/system.slice/nvidia-persistenced.service", CgroupOwner("service", "nvidia-persistenced")),
    ("/user.slice/user-1000.slice/session-3.scope", CgroupOwner("session", "1000", "3")),
    ("/user.slice/job_12/x", None),  # job_ outside a SLURM root is not a job
    ("/", None),
    (None, None),
])
def test_owner_of_layouts(path, owner):
    assert owner_of(path) == owner


def test_describe_reads_as_words():
    assert CgroupOwner("slurm_job", "42", "extern").describe() == "SLURM job 42 step extern"
    assert CgroupOwner("pod", "u").describe() == "pod u"
