"""Configuration: the upstream `ai-how` cluster config as written today, plus a `cockpit:` section.

Loading order: --config, then $COCKPIT_CONFIG, then $XDG_CONFIG_HOME/cockpit/config.yaml, then
the embedded default (provisioning/samples/default.yaml), whose demo libvirt host and MLflow
store give way to LIBVIRT_DEFAULT_URI / MLFLOW_TRACKING_URI when those are set. Strings may use `${VAR}` and
`${VAR:-default}`. Every error names the full path: `clusters -> hpc -> compute_nodes[1] ->
memory_gb: Input should be greater than or equal to 1`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from backends.beegfs.settings import BeegfsSettings as BeegfsSettings
from backends.gpus.settings import GpuSettings as GpuSettings
from backends.kube.settings import InferenceSettings as InferenceSettings
from backends.kube.settings import KubeSettings as KubeSettings
from backends.libvirt.settings import LibvirtHost as LibvirtHost
from backends.libvirt.settings import LibvirtSettings as LibvirtSettings
from backends.mlflow.settings import MlflowSettings as MlflowSettings
from backends.prometheus.settings import PrometheusSettings as PrometheusSettings
from backends.slurm.settings import SlurmSettings as SlurmSettings
from cockpit import paths
from cockpit.errors import ConfigError, format_loc, format_validation_error
from cockpit.sources import SPECS
from cockpit.yamltext import load_yaml, read_text_bounded

PCI_ADDRESS = r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$"
HEX4 = r"^(0x)?[0-9a-fA-F]{4}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Open(BaseModel):
    """Upstream sections we read only partly: unknown keys are kept, not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --------------------------------------------------------------------------------------------
# Upstream ai-how cluster config
# --------------------------------------------------------------------------------------------
class PcieDevice(Strict):
    pci_address: str = Field(pattern=PCI_ADDRESS)
    device_type: Literal["gpu", "audio", "network", "storage", "other"] = "gpu"
    vendor_id: str | None = Field(default=None, pattern=HEX4)
    device_id: str | None = Field(default=None, pattern=HEX4)
    iommu_group: int | None = Field(default=None, ge=0)

    @field_validator("pci_address")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()

    @field_validator("vendor_id", "device_id")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        return v.lower().removeprefix("0x") if v else v


class PciePassthrough(Strict):
    enabled: bool = False
    devices: list[PcieDevice] = Field(default_factory=list)


class VirtioFsMount(Open):
    tag: str
    host_path: str
    mount_point: str
    readonly: bool = False


class Network(Strict):
    subnet: ipaddress.IPv4Network
    bridge: str = Field(min_length=1, max_length=15)  # Linux interface names are at most 15 chars


class NodeSpec(Strict):
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    cpu_cores: int = Field(ge=1, le=1024)
    memory_gb: int = Field(ge=1)
    disk_gb: int = Field(default=20, ge=1)
    ip: str | None = None
    ip_address: str | None = None
    mac_address: str | None = None
    base_image_path: str | None = None
    auto_start: bool = True
    pcie_passthrough: PciePassthrough = Field(default_factory=PciePassthrough)
    virtio_fs_mounts: list[VirtioFsMount] = Field(default_factory=list)
    hardware: dict[str, Any] | None = None

    @field_validator("ip", "ip_address")
    @classmethod
    def _ip(cls, v: str | None) -> str | None:
        if v is None or v == "DHCP":
            return v
        ipaddress.IPv4Address(v)  # raises ValueError with a clear message
        return v

    @property
    def address(self) -> str | None:
        value = self.ip_address or self.ip
        return None if value == "DHCP" else value

    def passthrough_devices(self) -> list[PcieDevice]:
        return list(self.pcie_passthrough.devices) if self.pcie_passthrough.enabled else []


class ComputeNodeGroup(NodeSpec):
    """`compute_nodes: {count: 4, cpu_cores: ..., ip: DHCP}` (upstream's group form)."""

    count: int = Field(ge=1, le=256)


class WorkerNode(NodeSpec):
    worker_type: Literal["cpu", "gpu"] = "cpu"


class SlurmConfig(Open):
    partitions: list[str] = Field(default_factory=lambda: ["debug"], min_length=1)
    default_partition: str | None = None
    max_job_time: str | None = None

    @model_validator(mode="after")
    def _default_in_partitions(self) -> "SlurmConfig":
        if self.default_partition and self.default_partition not in self.partitions:
            raise ValueError(f"default_partition {self.default_partition!r} is not one of partitions {self.partitions}")
        return self


class BeegfsConfig(Open):
    enabled: bool = False
    mount_point: str = "/mnt/beegfs"
    management_node: str | None = None
    metadata_nodes: list[str] = Field(default_factory=list)
    storage_nodes: list[str] = Field(default_factory=list)


class StorageConfig(Open):
    beegfs: BeegfsConfig | None = None


class HpcCluster(Strict):
    name: str = "hpc"
    base_image_path: str | None = None
    network: Network | None = None
    hardware: dict[str, Any] | None = None
    controller: NodeSpec
    compute_nodes: list[NodeSpec] | ComputeNodeGroup = Field(default_factory=list)
    slurm_config: SlurmConfig = Field(default_factory=SlurmConfig)
    storage: StorageConfig | None = None

    def compute_node_list(self) -> list[NodeSpec]:
        if isinstance(self.compute_nodes, ComputeNodeGroup):
            group = self.compute_nodes.model_dump(exclude={"count", "name"})
            return [NodeSpec(**group, name=f"compute-{i + 1:02d}") for i in range(self.compute_nodes.count)]
        return list(self.compute_nodes)


class KubernetesConfig(Open):
    cni: str = "calico"
    ingress: str = "nginx"
    storage_class: str = "local-path"


class CloudCluster(Strict):
    name: str = "cloud"
    base_image_path: str | None = None
    network: Network | None = None
    hardware: dict[str, Any] | None = None
    control_plane: NodeSpec
    worker_nodes: dict[str, list[WorkerNode]] = Field(default_factory=dict)
    kubernetes_config: KubernetesConfig = Field(default_factory=KubernetesConfig)


class Clusters(Strict):
    hpc: HpcCluster | None = None
    cloud: CloudCluster | None = None


class Metadata(Open):
    name: str = "workstation"
    description: str = ""


# --------------------------------------------------------------------------------------------
# The cockpit's own section
# --------------------------------------------------------------------------------------------
class AnsibleSettings(Strict):
    """Provisioning runs (ansible-runner) and the generated inventory."""

    ssh_user: str | None = None
    ssh_key: str | None = None
    python_interpreter: str | None = "/usr/bin/python3"
    project_dir: str | None = None  # default: provisioning/ansible of this checkout
    private_data_dir: str | None = None  # default: $XDG_STATE_HOME/cockpit/ansible
    keep_artifacts: int = Field(default=10, ge=1, le=1000)  # artifact dirs kept per private data dir
    forks: int = Field(default=5, ge=1, le=500)
    live_ips: bool = True  # take ansible_host from the vms snapshot when the VM reports one
    host_key_checking: bool = True  # False for freshly re-created VMs whose host keys change


class RefreshSpec(Strict):
    interval: float = Field(default=2.0, gt=0)
    min_interval: float = Field(default=0.5, ge=0)
    backoff_cap: float = Field(default=60.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)


def _refresh(interval: float, min_interval: float) -> Any:
    return Field(default_factory=lambda: RefreshSpec(interval=interval, min_interval=min_interval))


class _RefreshBase(Strict):
    def for_source(self, name: str) -> RefreshSpec:
        spec = getattr(self, name)
        assert isinstance(spec, RefreshSpec), name
        return spec


class _CockpitSectionBase(Strict):
    """The fields come from the registry (create_model below); the rules beyond their types live
    here so the built model inherits them (check_fields=False: the fields are added later)."""

    @field_validator("keymap", check_fields=False)
    @classmethod
    def _real_commands_and_keys(cls, v: dict[str, str]) -> dict[str, str]:
        from cockpit.config_rules import keymap_problems

        problems = keymap_problems(v) if v else []
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @field_validator("theme", check_fields=False)
    @classmethod
    def _known_theme(cls, v: str) -> str:
        from cockpit.config_rules import theme_problem

        problem = theme_problem(v) if v != "textual-dark" else None
        if problem:
            raise ValueError(problem)
        return v


_COMMON_FIELDS: dict[str, Any] = {
    "ansible": (AnsibleSettings, Field(default_factory=AnsibleSettings)),
    # Prometheus read back on demand (history for sparklines): not a polled source.
    "prometheus": (PrometheusSettings | None, None),
    "keymap": (dict[str, str], Field(default_factory=dict)),  # command name -> key
    "theme": (str, "textual-dark"),
    "audit_log": (str | None, None),
    "read_only": (bool, False),
}


def _source_settings_fields() -> dict[str, Any]:
    """`cockpit.<key>` for every source with settings (the registry, cockpit/sources.py): present
    with defaults, or None when absent (the source is then not configured)."""
    fields: dict[str, Any] = {}
    for spec in SPECS:
        model = spec.settings_model()
        if spec.settings_key is None or model is None or spec.settings_key in fields:
            continue
        fields[spec.settings_key] = ((model, Field(default_factory=model)) if spec.settings_default
                                     else (model | None, None))
    return fields


if TYPE_CHECKING:  # what type checkers see; at run time both models are built from the registry
    class Refresh(_RefreshBase):
        def __getattr__(self, name: str) -> RefreshSpec: ...

    class CockpitSection(_CockpitSectionBase):
        libvirt: LibvirtSettings = Field(default_factory=LibvirtSettings)
        gpus: GpuSettings = Field(default_factory=GpuSettings)
        slurm: SlurmSettings | None = None
        beegfs: BeegfsSettings | None = None
        kubernetes: KubeSettings | None = None
        mlflow: MlflowSettings | None = None
        ansible: AnsibleSettings = Field(default_factory=AnsibleSettings)
        prometheus: PrometheusSettings | None = None
        refresh: Refresh = Field(default_factory=Refresh)
        keymap: dict[str, str] = Field(default_factory=dict)
        theme: str = "textual-dark"
        audit_log: str | None = None
        read_only: bool = False

        def __getattr__(self, name: str) -> Any: ...
else:
    # `cockpit.refresh.<source>`: one entry per source, with the registry's defaults.
    Refresh = create_model("Refresh", __base__=_RefreshBase, **{
        spec.name: (RefreshSpec, _refresh(spec.interval, spec.min_interval)) for spec in SPECS})
    CockpitSection = create_model("CockpitSection", __base__=_CockpitSectionBase, **{
        **_source_settings_fields(), **_COMMON_FIELDS, "refresh": (Refresh, Field(default_factory=Refresh))})



class CockpitConfig(Strict):
    version: str = "1.0"
    metadata: Metadata = Field(default_factory=Metadata)
    global_: dict[str, Any] = Field(default_factory=dict, alias="global")
    clusters: Clusters = Field(default_factory=Clusters)
    cockpit: CockpitSection = Field(default_factory=CockpitSection)

    @model_validator(mode="after")
    def _unique_vm_names(self) -> "CockpitConfig":
        hpc = self.clusters.hpc
        if hpc:
            names = [n.name for n in hpc.compute_node_list() if n.name]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"clusters -> hpc -> compute_nodes: duplicate names {sorted(dupes)}")
        return self


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-((?:[^{}]|\{[^{}]*\})*))?\}")


def builtin_variables() -> dict[str, str]:
    return {
        "COCKPIT_PROVISIONING": str(paths.PROVISIONING_DIR),
        "COCKPIT_WORKLOADS": str(paths.WORKLOADS_DIR),
        "COCKPIT_DATA_DIR": str(paths.data_dir()),
        "COCKPIT_STATE_DIR": str(paths.state_dir()),
        # The cockpit's own interpreter (its venv has the workloads' packages): what plans run
        # jobs with unless they (or $COCKPIT_PYTHON, or --var python=...) say otherwise.
        "COCKPIT_PYTHON": sys.executable,
    }


def expand(text: str, env: Mapping[str, str], where: str, warnings: list[str]) -> str:
    """Shell-style `${VAR}` / `${VAR:-default}` (defaults may hold one nested `${...}`)."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value not in (None, ""):
            return value
        if default is not None:
            return expand(default, env, where, warnings)
        warnings.append(f"{where}: ${{{name}}} is not set (expanded to '')")
        return ""

    return _VAR.sub(sub, text)


def _expand_tree(node: Any, env: Mapping[str, str], loc: list[Any], warnings: list[str]) -> Any:
    if isinstance(node, str):
        return expand(node, env, format_loc(loc), warnings) if "$" in node else node
    if isinstance(node, dict):
        return {k: _expand_tree(v, env, [*loc, k], warnings) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_tree(v, env, [*loc, i], warnings) for i, v in enumerate(node)]
    return node


@dataclass
class LoadedConfig:
    config: CockpitConfig
    path: Path | None  # None: the embedded default
    warnings: list[str] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=dict)
    lab_path: Path | None = None  # set when SLURM settings came from a running `cockpit lab`

    @property
    def is_default(self) -> bool:
        return self.path is None or self.path == paths.DEFAULT_CONFIG


def parse_config(text: str, source: str, env: Mapping[str, str] | None = None) -> LoadedConfig:
    env = {**builtin_variables(), **(os.environ if env is None else env)}
    raw = load_yaml(text, source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, [f"(top level): expected a mapping of settings, got {type(raw).__name__}"])
    bad_keys = [k for k in raw if not isinstance(k, str)]
    if bad_keys:
        raise ConfigError(source, [f"(top level): keys must be strings, got {bad_keys[0]!r}"])
    from cockpit.config_rules import unclosed_variables

    unclosed = unclosed_variables(raw)
    if unclosed:
        raise ConfigError(source, unclosed)
    warnings: list[str] = []
    expanded = _expand_tree(raw, env, [], warnings)
    try:
        config = CockpitConfig.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(source, format_validation_error(exc)) from None
    except (ValueError, TypeError, RecursionError) as exc:  # validators on junk input
        raise ConfigError(source, [f"(top level): {exc}"]) from None
    return LoadedConfig(config=config, path=None, warnings=warnings, env=env)


def locate_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("COCKPIT_CONFIG")
    if from_env:
        return Path(from_env)
    user = paths.user_config_file()
    if user.exists():
        return user
    return paths.DEFAULT_CONFIG


def _read(path: Path) -> str:
    return read_text_bounded(path)  # regular files up to 4 MiB; ConfigError otherwise


def lab_config_file() -> Path:
    """Written by `cockpit lab up`, removed by `cockpit lab down`."""
    return paths.config_dir() / "lab.yaml"


# The ecosystem's own settings that replace a part of the embedded demo when no config file
# is in use (an explicit config, $COCKPIT_CONFIG or the XDG file always wins).
USER_ENV_OVER_DEMO = ("LIBVIRT_DEFAULT_URI", "MLFLOW_TRACKING_URI")
# The ecosystem's settings that point the cockpit at a SLURM cluster: they win over a running lab.
SLURM_ENV = ("SLURMRESTD_URL", "SLURM_CONF")


def _user_environment_over_demo(loaded: LoadedConfig) -> None:
    """Drop the demo's libvirt host / MLflow store where the user's environment names their own;
    the sources then read LIBVIRT_DEFAULT_URI / MLFLOW_TRACKING_URI as they do for any config
    that leaves those sections out."""
    section = loaded.config.cockpit
    if loaded.env.get("LIBVIRT_DEFAULT_URI") and not loaded.env.get("COCKPIT_LIBVIRT_URI"):
        section.libvirt.hosts = []
    if loaded.env.get("MLFLOW_TRACKING_URI"):
        section.mlflow = None


def load_config(explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    path = locate_config(explicit)
    loaded = parse_config(_read(path), str(path), env)
    loaded.path = path
    if explicit is None and path == paths.DEFAULT_CONFIG:
        _user_environment_over_demo(loaded)
    # A running local lab fills in SLURM when the chosen config leaves it unset (not when a
    # config was named explicitly: then the user said exactly what they want, nor when
    # SLURMRESTD_URL / SLURM_CONF name a cluster: the user's environment wins over the lab).
    lab = lab_config_file()
    user_slurm = any(loaded.env.get(name) for name in SLURM_ENV)
    if explicit is None and loaded.config.cockpit.slurm is None and not user_slurm and lab.exists() and path != lab:
        try:
            lab_loaded = parse_config(_read(lab), str(lab), env)
        except ConfigError as exc:
            loaded.warnings.append(f"{lab}: ignored, invalid: {'; '.join(exc.problems)}")
        else:
            if lab_loaded.config.cockpit.slurm is not None:
                loaded.config.cockpit.slurm = lab_loaded.config.cockpit.slurm
                loaded.lab_path = lab
    return loaded


def config_json_schema() -> dict[str, Any]:
    schema = CockpitConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "AI-HOW Cockpit configuration"
    return schema
