"""The real Slurm labs (tests/fixtures_slurm_lab.py): the host's 22.05 lab, shared with the plan
tests (tests/cockpit/plans), and one lab per release (22.05, 24.11, 26.05), each stopped with a
check that nothing of it survives."""

from __future__ import annotations

import pytest

from tests.fixtures_slurm_lab import slurm_lab, slurm_release_lab  # noqa: F401 - the session fixtures

BUILD_BUDGET_S = 900  # a cold debootstrap of one release: ~70-180 s measured on a loaded 2-core VM


def pytest_collection_modifyitems(config, items):
    """A chroot built in this session is built in the setup of the first test of its release:
    the tests of a release whose chroot is not cached yet get the build time on top of the
    per-test timeout."""
    from cockpit.lab.chroot import SUITES, cached_path, usable

    to_build = {r for r in SUITES if not usable(cached_path(r), r)}
    for item in items:
        callspec = getattr(item, "callspec", None)
        release = callspec.params.get("slurm_release_lab") if callspec else None
        if release in to_build:
            base = config.getini("timeout") or 300
            item.add_marker(pytest.mark.timeout(float(base) + BUILD_BUDGET_S))
