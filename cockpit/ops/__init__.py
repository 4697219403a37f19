"""Action definitions, one module per area. Each module has `register(registry)`."""

from __future__ import annotations

import importlib

from cockpit.actions import ActionRegistry

# One module per area; a module that does not exist yet is skipped (and only that case).
MODULES = (
    "cockpit.ops.vms",
    "cockpit.ops.gpus",
    "cockpit.ops.clusters",
    "cockpit.ops.slurm",
    "cockpit.ops.storage",
    "cockpit.ops.kube",
    "cockpit.ops.mlflow",
    "cockpit.ops.ansible",
    "cockpit.ops.workloads",
    "cockpit.ops.probes",
)


def register_all(registry: ActionRegistry) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(registry)


def default_registry() -> ActionRegistry:
    """Every area's actions, imported on first use of the registry."""
    return ActionRegistry(loader=register_all)
