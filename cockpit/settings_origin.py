"""Where each source's settings came from: a config file, the embedded demo, a running `cockpit
lab`, an environment variable of the ecosystem (LIBVIRT_DEFAULT_URI, KUBECONFIG, ...) or kubectl's
default file. Shown by the one-shot output so a user can tell their own cluster from the demo.

The order mirrors what the backends' builders read (config section first, then the variable).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypedDict

from cockpit import paths
from cockpit.source_types import env_value
from cockpit.sources import spec_for

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig


class Origin(TypedDict):
    kind: str  # config | demo | lab | env | kubectl-default
    where: str  # the file's path, or the variable's name


def _from_file(loaded: "LoadedConfig") -> Origin:
    if loaded.path is None or loaded.path == paths.DEFAULT_CONFIG:
        return Origin(kind="demo", where=str(paths.DEFAULT_CONFIG))
    return Origin(kind="config", where=str(loaded.path))


def _from_env(loaded: "LoadedConfig", *names: str) -> Origin | None:
    name = next((n for n in names if env_value(loaded, n)), None)
    return Origin(kind="env", where=name) if name else None


def _libvirt(loaded: "LoadedConfig") -> Origin | None:
    if loaded.config.cockpit.libvirt.hosts:
        return _from_file(loaded)
    return _from_env(loaded, "LIBVIRT_DEFAULT_URI")


def _slurm(loaded: "LoadedConfig") -> Origin | None:
    if loaded.config.cockpit.slurm is not None:
        if loaded.lab_path is not None:
            return Origin(kind="lab", where=str(loaded.lab_path))
        return _from_file(loaded)
    return _from_env(loaded, "SLURMRESTD_URL", "SLURM_CONF")


def _storage(loaded: "LoadedConfig") -> Origin | None:
    return _from_file(loaded) if loaded.config.cockpit.beegfs is not None else None


def _kubernetes(loaded: "LoadedConfig") -> Origin | None:
    settings = loaded.config.cockpit.kubernetes
    if settings is not None and settings.kubeconfig:
        return _from_file(loaded)
    from_env = _from_env(loaded, "KUBECONFIG")
    if from_env:
        return from_env
    default = Path.home() / ".kube" / "config"
    if settings is not None or default.exists():
        return Origin(kind="kubectl-default", where=str(default))
    return None


def _mlflow(loaded: "LoadedConfig") -> Origin | None:
    if loaded.config.cockpit.mlflow is not None:
        return _from_file(loaded)
    return _from_env(loaded, "MLFLOW_TRACKING_URI")


ORIGINS: dict[str, Callable[["LoadedConfig"], Origin | None]] = {
    "vms": _libvirt,
    "gpus": _libvirt,
    "slurm": _slurm,
    "storage": _storage,
    "kubernetes": _kubernetes,
    "mlflow": _mlflow,
}


def settings_origin(loaded: "LoadedConfig", source: str) -> Origin | None:
    """None: nothing configures this source."""
    origin = ORIGINS.get(source)
    if origin is not None:
        return origin(loaded)
    # A source with no rule of its own here: its `cockpit:` section, when there is one.
    return _from_file(loaded) if spec_for(source).settings_of(loaded) is not None else None


def describe(origin: Origin | None) -> str:
    if origin is None:
        return "not configured"
    labels = {"config": "config file", "demo": "embedded demo", "lab": "cockpit lab",
              "env": "environment variable", "kubectl-default": "kubectl's default"}
    return f"{labels.get(origin['kind'], origin['kind'])} {origin['where']}"
