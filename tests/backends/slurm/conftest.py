"""One real Slurm lab per test session: 4 nodes x 2 fake GPUs, slurmdbd + MariaDB, slurmrestd.

Started through the cockpit's own lab code (cockpit/lab/slurm_lab.py) on port base 17800 in a
directory under /tmp; stopped at the end of the session, and the finalizer fails the run if any
lab process (slurmctld, slurmd, slurmstepd, job, munged, mariadbd, slurmdbd, slurmrestd) survives.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

LAB_BASE = 17800


def _why_not() -> str | None:
    from cockpit.lab.slurm_lab import check_prerequisites

    problems = check_prerequisites()
    missing = [p for p in ("slurmdbd", "mariadbd", "slurmrestd") if shutil.which(p) is None]
    if missing:
        problems.append(f"not installed: {', '.join(missing)}")
    return "; ".join(problems) or None


@pytest.fixture(scope="session")
def slurm_lab():
    from cockpit.lab.slurm_lab import LabLayout, LabSpec, down, lab_processes, up

    reason = _why_not()
    if reason:
        pytest.skip(f"slurm lab cannot start here: {reason}")
    root = Path(f"/tmp/cockpit-slurm-test-{os.getpid()}")
    spec = LabSpec(root=root, nodes=4, gpus=2, base=LAB_BASE, accounting=True, rest=True,
                   config_path=root / "cockpit-lab.yaml")
    info = up(spec)
    try:
        yield info
    finally:
        down(root, config_path=spec.config_path)
        left = lab_processes(LabLayout(root))
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"lab processes survived `lab down`: {left}"
