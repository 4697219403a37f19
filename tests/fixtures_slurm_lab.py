"""One real Slurm lab per test session, shared by every test directory that needs one.

4 nodes x 2 fake GPUs, slurmdbd + MariaDB, slurmrestd; started through the cockpit's own lab
code (cockpit/lab/slurm_lab.py) in a directory under /tmp, on port base 17800 - or the next
base (steps of 200) whose ports are all free, so test sessions that share a machine do not
collide.

Each directory's conftest imports `slurm_lab` from here. pytest then holds one fixture
definition per conftest, so the lab itself lives in this module and is reference-counted: the
first user starts it, the last one stops it at the end of the session, and that last teardown
fails the run if any lab process (slurmctld, slurmd, slurmstepd, job, munged, mariadbd,
slurmdbd, slurmrestd) survives `lab down`.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

LAB_BASE = 17800
NODES = 4


def _ports_free(base: int) -> bool:
    from cockpit.lab.slurm_conf import Ports

    ports = Ports(base)
    wanted = [ports.db, ports.slurmctld, ports.slurmdbd, ports.slurmrestd,
              *range(ports.slurmd_first, ports.slurmd_first + NODES)]
    for port in wanted:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base(start: int = LAB_BASE, step: int = 200, tries: int = 10) -> int:
    for n in range(tries):
        if _ports_free(start + n * step):
            return start + n * step
    raise RuntimeError(f"no free port range for a slurm lab from {start} in {tries} steps of {step}")


class _SharedLab:
    def __init__(self) -> None:
        self.info: Any = None
        self.failure: str | None = None
        self.users = 0
        self.root = Path(f"/tmp/cockpit-slurm-test-{os.getpid()}")

    def acquire(self) -> Any:
        from cockpit.lab.slurm_lab import LabSpec, up

        if self.failure:
            pytest.fail(f"the shared slurm lab failed to start earlier: {self.failure}")
        if self.info is None:
            try:
                spec = LabSpec(root=self.root, nodes=NODES, gpus=2, base=free_base(), accounting=True, rest=True,
                               config_path=self.root / "cockpit-lab.yaml")
                self.info = up(spec)
            except Exception as exc:
                self.failure = f"{type(exc).__name__}: {exc}"
                shutil.rmtree(self.root, ignore_errors=True)  # up() already stopped what it started
                raise
        self.users += 1
        return self.info

    def release(self) -> None:
        from cockpit.lab.slurm_lab import LabLayout, down, lab_processes

        self.users -= 1
        if self.users > 0 or self.info is None:
            return
        self.info = None
        down(self.root, config_path=self.root / "cockpit-lab.yaml")
        left = lab_processes(LabLayout(self.root))
        shutil.rmtree(self.root, ignore_errors=True)
        assert not left, f"lab processes survived `lab down`: {left}"


_LAB = _SharedLab()


def why_not() -> str | None:
    """Why no lab can start on this machine (None: it can)."""
    from cockpit.lab.slurm_lab import check_prerequisites

    problems = check_prerequisites()
    missing = [p for p in ("slurmdbd", "mariadbd", "slurmrestd") if shutil.which(p) is None]
    if missing:
        problems.append(f"not installed: {', '.join(missing)}")
    return "; ".join(problems) or None


@pytest.fixture(scope="session")
def slurm_lab():
    """The running lab's LabInfo (config_path, conf, root, rest_url, ...)."""
    reason = why_not()
    if reason:
        pytest.skip(f"slurm lab cannot start here: {reason}")
    info = _LAB.acquire()
    try:
        yield info
    finally:
        _LAB.release()
