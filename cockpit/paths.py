"""Where the cockpit keeps things, following the XDG base directory spec."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
PROVISIONING_DIR = PACKAGE_ROOT / "provisioning"
WORKLOADS_DIR = PACKAGE_ROOT / "workloads"
DEFAULT_CONFIG = PROVISIONING_DIR / "samples" / "default.yaml"
DEMO_HOST_XML = PROVISIONING_DIR / "demo" / "workstation.xml"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "cockpit"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "cockpit"


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "cockpit"


def user_config_file() -> Path:
    return config_dir() / "config.yaml"


def default_audit_log() -> Path:
    return state_dir() / "audit.jsonl"
