"""One cockpit process: config, hub, adapters, action registry, dispatcher and audit log.

The TUI, the one-shot CLI, plans, SSH sessions and the Python API all build (or share) one
Runtime; N viewers share its collectors.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol

from cockpit import paths
from cockpit.actions import ActionRegistry, ActionResult, Actor, Dispatcher, local_actor
from cockpit.audit import AuditLog, AuditUnavailable
from cockpit.config import CockpitConfig, LoadedConfig, load_config
from cockpit.hub import Collector, Hub, Timing, make_timing
from cockpit.query import Query
from cockpit.source_types import NotConfigured, UnconfiguredSource
from cockpit.sources import SOURCE_NAMES, build_source


class Runtime(Protocol):
    """What screens, plans, actions, SSH sessions and the Python API use of a cockpit process:
    snapshots through the hub, reads through `query`, changes through `dispatcher`."""

    loaded: LoadedConfig
    hub: Hub
    registry: ActionRegistry
    audit: AuditLog
    read_only: bool
    dispatcher: Dispatcher
    audit_problem: str | None

    @property
    def config(self) -> CockpitConfig: ...

    @property
    def query(self) -> Query: ...

    def adapter(self, name: str) -> Any: ...

    def provisioning(self) -> Any: ...

    async def invoke(self, name: str, params: dict[str, Any] | None = None, *, actor: Actor | None = None,
                     confirmed: bool = True) -> ActionResult: ...

    async def close(self) -> None: ...

log = logging.getLogger(__name__)


@dataclass
class CockpitRuntime:
    """The Runtime of one process: built by build_runtime (tests build their own)."""

    loaded: LoadedConfig
    hub: Hub
    registry: ActionRegistry
    audit: AuditLog
    read_only: bool = False
    # name -> backend adapter, for the action path and the query seam: build_runtime passes the
    # adapters it built (a runtime built by hand gets its hub's sources); on-demand ones (ansible)
    # are added when first used.
    adapters: dict[str, Any] = field(default_factory=dict)
    # Why the audit log cannot be written (checked at start-up): actions are refused, the screen
    # says so and keeps monitoring.
    audit_problem: str | None = None
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        for name, collector in self.hub.collectors.items():
            self.adapters.setdefault(name, collector.source)
        self.dispatcher = Dispatcher(self.registry, self.audit, self, read_only=self.read_only)

    @property
    def config(self) -> CockpitConfig:
        return self.loaded.config

    def adapter(self, name: str) -> Any:
        """The backend adapter behind a source, or an on-demand one such as 'ansible' or
        'prometheus' (built on first use; a NotConfigured one is returned as such)."""
        try:
            return self.adapters[name]
        except KeyError:
            pass
        if name == "prometheus":
            from backends.prometheus.client import build_reader

            try:
                self.adapters[name] = build_reader(self.loaded)
            except NotConfigured as exc:
                return UnconfiguredSource(name, str(exc))
            return self.adapters[name]
        raise KeyError(f"no adapter named {name!r}")

    @property
    def query(self) -> Query:
        """On-demand reads (logs, run history, probe history): unaudited, never a write."""
        return Query(self.adapter)

    def provisioning(self) -> Any:
        """The provisioning (ansible-runner) source, created on first use: registered as the
        `ansible` adapter and added to the hub as the `provisioning` collector, so viewers see
        runs live. Not one of the dashboard's sources, so nothing pays for it at start-up."""
        from backends.ansible.source import ADAPTER_NAME, SOURCE_NAME, build_source

        existing = self.adapters.get(ADAPTER_NAME)
        if existing is not None:
            return existing
        if SOURCE_NAME in self.hub.collectors:
            source = self.hub.collectors[SOURCE_NAME].source
        else:
            source = build_source(self.loaded)
            collector = Collector(source, Timing(interval=30.0, min_interval=0.1), always=False)
            source.bind(collector.push)
            self.hub.add(collector)
        self.adapters[ADAPTER_NAME] = source
        return source

    async def invoke(self, name: str, params: dict[str, Any] | None = None, *, actor: Actor | None = None,
                     confirmed: bool = True) -> ActionResult:
        """The Python API: run an action, audited, as the local user."""
        return await self.dispatcher.invoke(name, params or {}, actor=actor or local_actor("api"), confirmed=confirmed)

    async def close(self) -> None:
        """The one place a cockpit process cleans up: stop the collectors, close the on-demand
        adapters (ansible), and close the libvirt connections the vms and gpus sources share."""
        await self.hub.stop()
        for adapter in [a for name, a in self.adapters.items() if name not in self.hub.collectors]:
            close = getattr(adapter, "close", None)
            if close is not None:
                result = close()
                if hasattr(result, "__await__"):
                    await result
        # Only when libvirt was used at all: importing it here would cost every start-up.
        connection = sys.modules.get("backends.libvirt.connection")
        if connection is not None:
            await asyncio.to_thread(connection.forget_connections)


def build_runtime(
    loaded: LoadedConfig | None = None,
    *,
    config_path: str | None = None,
    read_only: bool | None = None,
    always: bool = False,
    sources: Iterable[str] = SOURCE_NAMES,
    audit_path: Path | None = None,
) -> CockpitRuntime:
    """Build (not start) a runtime. `always=True` keeps collectors polling with no viewer
    (plans, SSH server); the TUI instead watches the panes it shows."""
    from cockpit.ops import default_registry

    loaded = loaded or load_config(config_path)
    cfg = loaded.config.cockpit
    # One adapter per source: the hub's collectors fetch through them, and the action path and
    # the query seam find them here (runtime.adapter), not through a collector.
    adapters = {name: build_source(name, loaded) for name in sources}
    collectors = [
        Collector(adapter, make_timing(cfg.refresh.for_source(name)), always=always)
        for name, adapter in adapters.items()
    ]
    audit = AuditLog(audit_path or audit_log_path(loaded))
    problem = audit.problem()
    if problem is None:
        try:
            audit.recover()  # starts left open by a process that died get their action.lost
        except AuditUnavailable as exc:
            problem = str(exc)
    if problem is not None:
        log.warning("%s: actions will be refused until it can be written", problem)
    return CockpitRuntime(
        loaded=loaded,
        hub=Hub(collectors),
        adapters=dict(adapters),
        registry=default_registry(),
        audit=audit,
        read_only=cfg.read_only if read_only is None else read_only,
        audit_problem=problem,
    )


def audit_log_path(loaded: LoadedConfig) -> Path:
    configured = loaded.config.cockpit.audit_log
    return Path(configured) if configured else paths.default_audit_log()
