"""Real Slurm labs per test session, shared by every test directory that needs one.

`slurm_lab`: the host's Slurm (Debian 12: 22.05), 4 nodes x 2 fake GPUs, slurmdbd + MariaDB,
slurmrestd, reached with the local CLI. `slurm_release_lab`: the same lab at each release in
LAB_RELEASES (pytest parameter ids 22.05, 24.11, 26.05); 22.05 is the host lab above, the
newer ones run in cached Debian chroots (cockpit/lab/chroot.py; built with debootstrap in this
session when missing) and are reached over SSH and slurmrestd, as a real controller is.

Every lab is started through the cockpit's own lab code (cockpit/lab/slurm_lab.py) in a
directory under /tmp, on the first port base from 17800 (steps of 200) whose ports are all free,
so test sessions that share a machine do not collide.

Each directory's conftest imports the fixtures from here. pytest then holds one fixture
definition per conftest, so the labs themselves live in this module and are reference-counted:
the first user starts one, the last one stops it, and that teardown fails the run if any lab
process (slurmctld, slurmd, slurmstepd, job, munged, mariadbd, slurmdbd, slurmrestd, sshd) or
any chroot mount survives `lab down`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

LAB_BASE = 17800
NODES = 4
HOST_RELEASE = "22.05"
LAB_RELEASES = (HOST_RELEASE, "24.11", "26.05")


def free_base(start: int = LAB_BASE, step: int = 200, tries: int = 10) -> int:
    from cockpit.lab.slurm_lab import free_base as lab_free_base

    return lab_free_base(NODES, start=start, step=step, tries=tries)


class _SharedLab:
    def __init__(self, release: str = HOST_RELEASE) -> None:
        self.release = release
        self.info: Any = None
        self.failure: str | None = None
        self.users = 0
        suffix = "" if release == HOST_RELEASE else f"-{release}"
        self.root = Path(f"/tmp/cockpit-slurm-test-{os.getpid()}{suffix}")

    def acquire(self) -> Any:
        from cockpit.lab.slurm_lab import LabSpec, up

        if self.failure:
            pytest.fail(f"the shared slurm {self.release} lab failed to start earlier: {self.failure}")
        if self.info is None:
            try:
                spec = LabSpec(root=self.root, nodes=NODES, gpus=2, base=free_base(), accounting=True, rest=True,
                               release=self.release, config_path=self.root / "cockpit-lab.yaml")
                self.info = up(spec)
            except Exception as exc:
                self.failure = f"{type(exc).__name__}: {exc}"
                shutil.rmtree(self.root, ignore_errors=True)  # up() already stopped what it started
                raise
        self.users += 1
        return self.info

    def release_lab(self) -> None:
        from cockpit.lab.chroot import LabChroot
        from cockpit.lab.slurm_lab import LabLayout, down, lab_processes

        self.users -= 1
        if self.users > 0 or self.info is None:
            return
        self.info = None
        down(self.root, config_path=self.root / "cockpit-lab.yaml")
        left = lab_processes(LabLayout(self.root))
        mounts = LabChroot(self.root).mounted()
        if not mounts:  # never remove a directory that a chroot still sees
            shutil.rmtree(self.root, ignore_errors=True)
        assert not left, f"lab processes survived `lab down`: {left}"
        assert not mounts, f"chroot mounts survived `lab down`: {mounts}"


_LABS = {release: _SharedLab(release) for release in LAB_RELEASES}
_LAB = _LABS[HOST_RELEASE]


def why_not(release: str = HOST_RELEASE) -> str | None:
    """Why no lab of `release` can start on this machine (None: it can). A chroot that cannot be
    built (no mirror) is not a reason to skip: the lab start fails, saying so."""
    from cockpit.lab.slurm_lab import check_prerequisites

    problems = check_prerequisites(release)
    wanted = ("slurmdbd", "mariadbd", "slurmrestd") if release == HOST_RELEASE else ("mariadbd", "mariadb-install-db")
    missing = [p for p in wanted if shutil.which(p) is None]
    if missing:
        problems.append(f"not installed: {', '.join(missing)}")
    return "; ".join(problems) or None


def _shared(release: str):
    reason = why_not(release)
    if reason:
        pytest.skip(f"slurm {release} lab cannot start here: {reason}")
    lab = _LABS[release]
    info = lab.acquire()
    try:
        yield info
    finally:
        lab.release_lab()


@pytest.fixture(scope="session")
def slurm_lab():
    """The running host lab's LabInfo (config_path, conf, root, rest_url, ...)."""
    yield from _shared(HOST_RELEASE)


@pytest.fixture(scope="session", params=LAB_RELEASES)
def slurm_release_lab(request):
    """The running lab of each release in turn (LabInfo; .release, .chroot, .ssh_port, ...)."""
    yield from _shared(request.param)
