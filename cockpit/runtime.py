"""One cockpit process: config, hub, adapters, action registry, dispatcher and audit log.

The TUI, the one-shot CLI, plans, SSH sessions and the Python API all build (or share) one
Runtime; N viewers share its collectors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from cockpit import paths
from cockpit.actions import ActionRegistry, Actor, Dispatcher, local_actor
from cockpit.audit import AuditLog, AuditUnavailable
from cockpit.config import LoadedConfig, load_config
from cockpit.hub import Collector, Hub, make_timing
from cockpit.snapshot import SOURCE_NAMES
from cockpit.sources import build_source

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    loaded: LoadedConfig
    hub: Hub
    registry: ActionRegistry
    audit: AuditLog
    read_only: bool = False
    extra_adapters: dict[str, Any] = field(default_factory=dict)
    # Why the audit log cannot be written (checked at start-up): actions are refused, the screen
    # says so and keeps monitoring.
    audit_problem: str | None = None
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(self.registry, self.audit, self, read_only=self.read_only)

    @property
    def config(self) -> Any:
        return self.loaded.config

    def adapter(self, name: str) -> Any:
        """The backend adapter behind a source (or an extra one such as 'ansible')."""
        if name in self.extra_adapters:
            return self.extra_adapters[name]
        if name in self.hub.collectors:
            return self.hub.collectors[name].source
        raise KeyError(f"no adapter named {name!r}")

    async def invoke(self, name: str, params: dict[str, Any] | None = None, *, actor: Actor | None = None,
                     confirmed: bool = True) -> Any:
        """The Python API: run an action, audited, as the local user."""
        return await self.dispatcher.invoke(name, params or {}, actor=actor or local_actor("api"), confirmed=confirmed)

    async def close(self) -> None:
        await self.hub.stop()
        for adapter in self.extra_adapters.values():
            close = getattr(adapter, "close", None)
            if close is not None:
                result = close()
                if hasattr(result, "__await__"):
                    await result


def build_runtime(
    loaded: LoadedConfig | None = None,
    *,
    config_path: str | None = None,
    read_only: bool | None = None,
    always: bool = False,
    sources: Iterable[str] = SOURCE_NAMES,
    audit_path: Path | None = None,
) -> Runtime:
    """Build (not start) a runtime. `always=True` keeps collectors polling with no viewer
    (plans, SSH server); the TUI instead watches the panes it shows."""
    from cockpit.ops import default_registry

    loaded = loaded or load_config(config_path)
    cfg = loaded.config.cockpit
    collectors = [
        Collector(build_source(name, loaded), make_timing(cfg.refresh.for_source(name)), always=always)
        for name in sources
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
    return Runtime(
        loaded=loaded,
        hub=Hub(collectors),
        registry=default_registry(),
        audit=audit,
        read_only=cfg.read_only if read_only is None else read_only,
        audit_problem=problem,
    )


def audit_log_path(loaded: LoadedConfig) -> Path:
    configured = loaded.config.cockpit.audit_log
    return Path(configured) if configured else paths.default_audit_log()
