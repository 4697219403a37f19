"""The real Slurm labs (tests/fixtures_slurm_lab.py): the host's 22.05 lab, shared with the plan
tests (tests/cockpit/plans), and one lab per release (22.05, 24.11, 26.05), each stopped with a
check that nothing of it survives."""

from __future__ import annotations

from tests.fixtures_slurm_lab import slurm_lab, slurm_release_lab  # noqa: F401 - the session fixtures
