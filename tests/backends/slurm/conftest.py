"""The real Slurm lab (tests/fixtures_slurm_lab.py): one per test session, shared with the plan
tests (tests/cockpit/plans), stopped at the end of the session with a check that nothing of it
survives."""

from __future__ import annotations

from tests.fixtures_slurm_lab import slurm_lab  # noqa: F401 - the session fixture
