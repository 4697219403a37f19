from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.libvirt.conftest import clean_lab_uri, lab_uri  # noqa: F401  (shared host files)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml-h100"  # provenance: its README.md


@pytest.fixture
def h100_fixtures() -> Path:
    return FIXTURES
