"""What a backend adapter is to the cockpit: the pure types a backend may import.

Backends build on this module (and on snapshot items, paths and errors) and never on the hub,
the action layer, the runtime or the source registry; import-linter holds that in CI.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from cockpit.snapshot import FetchResult

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig


class Settings(BaseModel):
    """Base of a source's settings model (`cockpit.<key>` in the config), which lives beside its
    backend: unknown keys are refused, so a typo is an error that names its path."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@runtime_checkable
class Source(Protocol):
    """What a backend adapter offers the hub. Blocking libraries run in worker threads
    inside fetch (asyncio.to_thread); fetch must never block the event loop."""

    name: str

    async def fetch(self) -> FetchResult: ...


class WatchingSource(Source, Protocol):
    """Optional: a source that also pushes events (Kubernetes watch, libvirt lifecycle).

    `watch` runs for the collector's lifetime; it calls `push(result)` with a full new result,
    or `poke()` to ask for an early fetch (still bounded by the minimum interval)."""

    async def watch(self, push: Callable[[FetchResult], None], poke: Callable[[], None]) -> None: ...


class UnconfiguredSource:
    """Stands in for a backend that has no configuration; its snapshot says how to configure it."""

    def __init__(self, name: str, hint: str) -> None:
        self.name = name
        self.hint = hint

    async def fetch(self) -> FetchResult:  # pragma: no cover - never scheduled
        raise RuntimeError(f"{self.name} is not configured")


class NotConfigured(Exception):
    """Raised by a backend's builder when its settings leave nothing to talk to; the registry
    then shows the source's hint (with this message in front, when there is one)."""


def env_value(loaded: "LoadedConfig", name: str) -> str | None:
    """An ecosystem setting (KUBECONFIG, SLURM_CONF, ...) from the config's environment."""
    value = loaded.env.get(name) if loaded.env else os.environ.get(name)
    return value or None
