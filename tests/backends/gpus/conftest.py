from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.libvirt.conftest import clean_lab_uri, lab_uri  # noqa: F401  (shared host files)

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "nvidia-h100-host"


@pytest.fixture
def h100_fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} missing (CI checks out ../shared beside the repo)")
    return FIXTURES
