"""The source registry: one `SourceSpec` per source, and everything that lists sources derives
from it (SOURCE_NAMES, the config's `cockpit:` settings and `refresh:` defaults, the dashboard's
panes, the plans' source names and shorthands, the action modules).

Adding a source is one backend package (settings.py, models.py, source.py), one spec here and
their tests: the README's "Adding a source" recipe. Builders and action modules are named as
"module:function" / "module" strings and imported lazily, so an unused backend costs nothing at
start-up; settings models too ("module:Class", imported by the config when it is validated), so
the screen's first frame, which lists the panes from here, imports no pydantic.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from cockpit.config import LoadedConfig
    from cockpit.source_types import Settings, Source


@dataclass(frozen=True)
class SourceSpec:
    """Everything the cockpit knows about one source, in one place."""

    name: str  # snapshot key, JSON key (`cockpit snapshot --format json`), collector name
    title: str  # the dashboard pane's title (for the source a pane is named after)
    builder: str  # "module:function" taking (LoadedConfig), returning a Source (or raising NotConfigured)
    hint: str  # one line: how to configure it, shown in its pane while unconfigured
    configured: Callable[["LoadedConfig"], bool]  # cheap "anything to talk to?": no adapter import
    interval: float = 2.0  # refresh defaults (`cockpit.refresh.<name>` overrides them)
    min_interval: float = 0.5
    settings_key: str | None = None  # `cockpit.<settings_key>` in the config ...
    settings: str | None = None  # ... validated by this model ("module:Class", beside the backend)
    settings_default: bool = False  # present with defaults when absent (else None: not configured)
    actions: str | None = None  # the module whose register(registry) adds this source's actions
    pane: str | None = None  # the dashboard pane showing it (the screens resolve the pane spec by this name)
    pane_label: str = ""  # short name of that pane in key help ("SLURM queue" -> "2  SLURM queue pane")
    pane_sections: tuple[str, ...] = ()  # snapshot sections shown as tables of their own in that pane
    plan_shorthands: tuple[str, ...] = ()  # plan condition keys that check this source (`wait: {vm: ...}`)

    def settings_of(self, loaded: "LoadedConfig") -> Any:
        """This source's settings from a loaded config (None when absent)."""
        return getattr(loaded.config.cockpit, self.settings_key) if self.settings_key else None

    def settings_model(self) -> "type[Settings] | None":
        """The settings model, imported now (the config imports it when it is validated)."""
        if self.settings is None:
            return None
        module_name, _, attr = self.settings.partition(":")
        model: type[Settings] = getattr(importlib.import_module(module_name), attr)
        return model


def _any_env(loaded: "LoadedConfig", *names: str) -> bool:
    from cockpit.source_types import env_value

    return any(env_value(loaded, n) for n in names)


def _libvirt_configured(loaded: "LoadedConfig") -> bool:
    return bool(loaded.config.cockpit.libvirt.hosts) or _any_env(loaded, "LIBVIRT_DEFAULT_URI")


SPECS: tuple[SourceSpec, ...] = (
    SourceSpec(
        name="vms", title="VMs and GPU assignment", builder="backends.libvirt.source:build_source",
        hint="set cockpit.libvirt.hosts (or LIBVIRT_DEFAULT_URI) to a libvirt URI such as qemu:///system",
        configured=_libvirt_configured, interval=2.0, min_interval=0.5,
        settings_key="libvirt", settings="backends.libvirt.settings:LibvirtSettings", settings_default=True,
        actions="cockpit.ops.vms", pane="vms", pane_label="VMs and GPUs", plan_shorthands=("vm",),
    ),
    SourceSpec(
        name="gpus", title="GPUs", builder="backends.gpus.source:build_source",
        hint="GPUs come from sysfs, libvirt node devices and NVML; set cockpit.libvirt.hosts",
        configured=_libvirt_configured, interval=2.0, min_interval=0.5,
        settings_key="gpus", settings="backends.gpus.settings:GpuSettings", settings_default=True,
        actions="cockpit.ops.gpus", pane="vms",
    ),
    SourceSpec(
        name="slurm", title="SLURM queue", builder="backends.slurm.source:build_source",
        hint="set cockpit.slurm (transport cli/rest/ssh), or SLURM_CONF / SLURMRESTD_URL; try `cockpit lab up`",
        configured=lambda loaded: (loaded.config.cockpit.slurm is not None
                                   or _any_env(loaded, "SLURM_CONF", "SLURMRESTD_URL")),
        interval=5.0, min_interval=2.0, settings_key="slurm", settings="backends.slurm.settings:SlurmSettings",
        actions="cockpit.ops.slurm", pane="slurm", pane_label="SLURM queue", pane_sections=("nodes",), plan_shorthands=("job",),
    ),
    SourceSpec(
        name="storage", title="BeeGFS / storage health", builder="backends.beegfs.source:build_source",
        hint="set cockpit.beegfs.management_host (reached over SSH, ~/.ssh/config honored)",
        configured=lambda loaded: loaded.config.cockpit.beegfs is not None,
        interval=30.0, min_interval=10.0, settings_key="beegfs", settings="backends.beegfs.settings:BeegfsSettings",
        actions="cockpit.ops.storage", pane="storage", pane_label="Storage",
    ),
    SourceSpec(
        name="kubernetes", title="Kubernetes pods", builder="backends.kube.source:build_source",
        hint="set cockpit.kubernetes (kubeconfig, context) or KUBECONFIG",
        configured=lambda loaded: (loaded.config.cockpit.kubernetes is not None or _any_env(loaded, "KUBECONFIG")
                                   or (Path.home() / ".kube" / "config").exists()),
        interval=10.0, min_interval=2.0, settings_key="kubernetes", settings="backends.kube.settings:KubeSettings",
        actions="cockpit.ops.kube", pane="kubernetes", pane_label="Kubernetes", pane_sections=("training_jobs",),
        plan_shorthands=("pod", "inference_service"),
    ),
    SourceSpec(
        name="mlflow", title="MLflow runs", builder="backends.mlflow.source:build_source",
        hint="set cockpit.mlflow.tracking_uri or MLFLOW_TRACKING_URI",
        configured=lambda loaded: loaded.config.cockpit.mlflow is not None or _any_env(loaded, "MLFLOW_TRACKING_URI"),
        interval=10.0, min_interval=3.0, settings_key="mlflow", settings="backends.mlflow.settings:MlflowSettings",
        actions="cockpit.ops.mlflow", pane="mlflow", pane_label="MLflow", plan_shorthands=("metric",),
    ),
)

# Action modules that belong to no one source (they act across several).
SHARED_ACTION_MODULES: tuple[str, ...] = ("cockpit.ops.clusters", "cockpit.ops.ansible", "cockpit.ops.kserve_local")

REGISTRY: dict[str, SourceSpec] = {spec.name: spec for spec in SPECS}
# The sources of the one-shot JSON contract, in display order.
SOURCE_NAMES: tuple[str, ...] = tuple(REGISTRY)
HINTS: dict[str, str] = {spec.name: spec.hint for spec in SPECS}
SOURCE_OF_SHORTHAND: dict[str, str] = {short: spec.name for spec in SPECS for short in spec.plan_shorthands}


def spec_for(name: str) -> SourceSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r} (known: {', '.join(SOURCE_NAMES)})") from None


def action_modules() -> tuple[str, ...]:
    """Every action module: each source's, then the shared ones."""
    return tuple(dict.fromkeys([*(s.actions for s in SPECS if s.actions), *SHARED_ACTION_MODULES]))


def panes() -> list[tuple[str, str, tuple[tuple[str, str | None], ...]]]:
    """The dashboard's panes in order: (pane id, title, tables as (source, section or None))."""
    order: dict[str, list[SourceSpec]] = {}
    for spec in SPECS:
        if spec.pane:
            order.setdefault(spec.pane, []).append(spec)
    out = []
    for pane_id, members in order.items():
        title = next((s.title for s in members if s.name == pane_id), members[0].title)
        tables = tuple((s.name, section) for s in members for section in (None, *s.pane_sections))
        out.append((pane_id, title, tables))
    return out


def pane_labels() -> list[tuple[str, str]]:
    """(pane id, short label) in tab order: the 1..9 pane keys of the command registry."""
    labels = {s.name: s.pane_label or s.title for s in SPECS}
    return [(pane_id, labels.get(pane_id, title)) for pane_id, title, _ in panes()]


def resolve_factory(spec: str) -> Callable[["LoadedConfig"], "Source"]:
    module_name, _, attr = spec.partition(":")
    factory: Callable[["LoadedConfig"], "Source"] = getattr(importlib.import_module(module_name), attr)
    return factory


class BrokenSource:
    """A backend whose adapter could not even be built: shown as an error, never a crash."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self.error = error

    async def fetch(self) -> Any:
        raise RuntimeError(self.error)


def build_source(name: str, loaded: "LoadedConfig") -> "Source":
    from cockpit.source_types import NotConfigured, UnconfiguredSource

    spec = spec_for(name)
    if not spec.configured(loaded):
        return UnconfiguredSource(name, spec.hint)
    try:
        factory = resolve_factory(spec.builder)
    except (ImportError, AttributeError) as exc:
        return UnconfiguredSource(name, f"adapter not available ({exc}); {spec.hint}")
    try:
        return factory(loaded)
    except NotConfigured as exc:
        return UnconfiguredSource(name, f"{exc}; {spec.hint}" if str(exc) else spec.hint)
    except Exception as exc:  # bad endpoint settings must not stop the other panes
        return BrokenSource(name, f"cannot set up {name}: {exc}")
