"""Action definitions, one module per area. Each module has `register(registry)`.

Which modules: each source's `actions` in the registry (cockpit/sources.py) plus the shared ones
(SHARED_ACTION_MODULES). A module named there that cannot be imported is an error, never skipped.
"""

from __future__ import annotations

import importlib

from cockpit.actions import ActionRegistry
from cockpit.sources import action_modules


def register_all(registry: ActionRegistry) -> None:
    for name in action_modules():
        importlib.import_module(name).register(registry)


def default_registry() -> ActionRegistry:
    """Every area's actions, imported on first use of the registry."""
    return ActionRegistry(loader=register_all)
