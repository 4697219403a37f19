"""Which adapter feeds which source, and how the ecosystem's own settings are honored.

Adding a source type is one backend adapter plus one line here (k9s style: dao + renderer +
registration). Factories are imported lazily so an unused backend costs nothing at start-up.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from cockpit.source_types import NotConfigured, Source, UnconfiguredSource, env_value

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig

# source name -> "module:function"; the function takes (LoadedConfig) and returns a Source,
# or an UnconfiguredSource carrying a one-line hint.
FACTORIES: dict[str, str] = {
    "vms": "backends.libvirt.source:build_source",
    "gpus": "backends.gpus.source:build_source",
    "slurm": "backends.slurm.source:build_source",
    "storage": "backends.beegfs.source:build_source",
    "kubernetes": "backends.kube.source:build_source",
    "mlflow": "backends.mlflow.source:build_source",
}

HINTS: dict[str, str] = {
    "vms": "set cockpit.libvirt.hosts (or LIBVIRT_DEFAULT_URI) to a libvirt URI such as qemu:///system",
    "gpus": "GPUs come from sysfs, libvirt node devices and NVML; set cockpit.libvirt.hosts",
    "slurm": "set cockpit.slurm (transport cli/rest/ssh), or SLURM_CONF / SLURMRESTD_URL; try `cockpit lab up`",
    "storage": "set cockpit.beegfs.management_host (reached over SSH, ~/.ssh/config honored)",
    "kubernetes": "set cockpit.kubernetes (kubeconfig, context) or KUBECONFIG",
    "mlflow": "set cockpit.mlflow.tracking_uri or MLFLOW_TRACKING_URI",
}


def resolve_factory(spec: str) -> Callable[["LoadedConfig"], Source]:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


class BrokenSource:
    """A backend whose adapter could not even be built: shown as an error, never a crash."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self.error = error

    async def fetch(self) -> Any:
        raise RuntimeError(self.error)


def _any_env(loaded: "LoadedConfig", *names: str) -> bool:
    return any(env_value(loaded, n) for n in names)


# Cheap "is there anything to talk to" checks, so an unconfigured source costs no adapter import
# at start-up (kubernetes-asyncio and asyncssh alone take ~0.4 s to import). The factories still
# decide the details.
CONFIGURED: dict[str, Callable[["LoadedConfig"], bool]] = {
    "vms": lambda l: bool(l.config.cockpit.libvirt.hosts) or _any_env(l, "LIBVIRT_DEFAULT_URI"),
    "gpus": lambda l: bool(l.config.cockpit.libvirt.hosts) or _any_env(l, "LIBVIRT_DEFAULT_URI"),
    "slurm": lambda l: l.config.cockpit.slurm is not None or _any_env(l, "SLURM_CONF", "SLURMRESTD_URL"),
    "storage": lambda l: l.config.cockpit.beegfs is not None,
    "kubernetes": lambda l: (l.config.cockpit.kubernetes is not None or _any_env(l, "KUBECONFIG")
                             or (Path.home() / ".kube" / "config").exists()),
    "mlflow": lambda l: l.config.cockpit.mlflow is not None or _any_env(l, "MLFLOW_TRACKING_URI"),
}


def build_source(name: str, loaded: "LoadedConfig") -> Source:
    if not CONFIGURED[name](loaded):
        return UnconfiguredSource(name, HINTS[name])
    try:
        factory = resolve_factory(FACTORIES[name])
    except (ImportError, AttributeError) as exc:
        return UnconfiguredSource(name, f"adapter not available ({exc}); {HINTS[name]}")
    try:
        return factory(loaded)
    except NotConfigured as exc:
        return UnconfiguredSource(name, f"{exc}; {HINTS[name]}" if str(exc) else HINTS[name])
    except Exception as exc:  # bad endpoint settings must not stop the other panes
        return BrokenSource(name, f"cannot set up {name}: {exc}")
