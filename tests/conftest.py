"""Shared fixtures. Real services start once per session in the conftest of the area that needs
them (tests/backends/<area>/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG dirs: no test reads or writes the user's config or audit log."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in ("COCKPIT_CONFIG", "LIBVIRT_DEFAULT_URI", "KUBECONFIG", "MLFLOW_TRACKING_URI", "SLURM_CONF",
                "SLURMRESTD_URL", "SLURMRESTD_USER", "SLURM_JWT", "COCKPIT_LIBVIRT_URI"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def demo_loaded():
    """The embedded default config, with libvirt on a private copy of the demo host."""
    from cockpit.config import load_config

    return load_config()


@pytest.fixture(autouse=True)
def _fresh_libvirt_connections():
    yield
    try:
        from backends.libvirt.connection import forget_connections
    except ImportError:
        return
    forget_connections()
