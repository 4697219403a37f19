"""One status line per cluster of the config (`cockpit status`, the `ai-how hpc status` /
`ai-how system status` equivalent): its VMs, its scheduler, its storage and its GPUs, each with a
level, decided from one collection of snapshots. Pure: no I/O, no Textual.

Levels, best to worst: ok, n/a (does not apply: no storage on the cloud cluster, no GPUs in the
config), degraded, unknown (the source that would tell is not configured or not fetched), down.
A cluster is healthy when every part is ok or n/a; `unknown` is not healthy, since nothing
says the part works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

from cockpit.clusters import ClusterPlan, all_plans
from cockpit.config import CockpitConfig
from cockpit.snapshot import Snapshot, Status

Level = Literal["ok", "n/a", "degraded", "unknown", "down"]
ORDER: tuple[Level, ...] = ("ok", "n/a", "degraded", "unknown", "down")
HEALTHY: frozenset[str] = frozenset({"ok", "n/a"})

# SLURM base states in which a node cannot run work, whatever its flags say.
SLURM_NODE_NOT_UP = frozenset({"DOWN", "FUTURE", "UNKNOWN"})


@dataclass(frozen=True)
class Part:
    level: Level
    text: str

    def as_json(self) -> dict[str, str]:
        return {"level": self.level, "text": self.text}


@dataclass(frozen=True)
class ClusterStatus:
    kind: str  # hpc | cloud
    name: str  # the cluster's name in the config
    vms: Part
    scheduler: Part
    storage: Part
    gpus: Part

    def parts(self) -> dict[str, Part]:
        return {"vms": self.vms, "scheduler": self.scheduler, "storage": self.storage, "gpus": self.gpus}

    @property
    def level(self) -> Level:
        return max((p.level for p in self.parts().values()), key=ORDER.index)

    @property
    def healthy(self) -> bool:
        return all(p.level in HEALTHY for p in self.parts().values())

    def as_json(self) -> dict[str, Any]:
        return {"cluster": self.name, "kind": self.kind, "healthy": self.healthy, "level": self.level,
                **{k: p.as_json() for k, p in self.parts().items()}}


def _source_problem(snap: Snapshot | None, what: str) -> Part | None:
    """unknown when the source is not configured or not fetched, down when it failed or is stale."""
    if snap is None:
        return Part("unknown", f"{what}: not fetched")
    if snap.status is Status.UNCONFIGURED:
        return Part("unknown", f"{what}: not configured")
    if snap.status is Status.ERROR or snap.stale:
        first = (snap.error or "error").strip().splitlines()
        return Part("down", f"{what} not answering: {first[0] if first else 'error'}")
    return None


def _ratio_level(good: int, total: int) -> Level:
    if total and good == total:
        return "ok"
    return "degraded" if good else "down"


# -- VMs ----------------------------------------------------------------------------------------
def _vm_states(snap: Snapshot | None) -> dict[str, str]:
    """VM name -> state; a VM defined on two hosts counts as running when it runs on either."""
    states: dict[str, str] = {}
    for item in (snap.items.values() if snap is not None else ()):
        name, state = getattr(item, "name", None), getattr(item, "state", None)
        if name is None or state is None:
            continue
        if states.get(name) != "running":
            states[name] = str(state)
    return states


def vms_part(plan: ClusterPlan, vms: Snapshot | None) -> Part:
    problem = _source_problem(vms, "libvirt")
    if problem is not None and not (vms is not None and vms.items):
        return problem
    states = _vm_states(vms)
    running = [vm.name for vm in plan.vms if states.get(vm.name) == "running"]
    expected = [vm.name for vm in plan.start_order()]
    text = f"{len(running)}/{len(plan.vms)} running"
    missing = [vm.name for vm in plan.vms if vm.name not in states]
    stopped = [name for name in expected if name in states and name not in running]
    if missing:
        text += f"; not defined: {', '.join(missing)}"
    if stopped:
        text += f"; stopped: {', '.join(stopped)}"
    if problem is not None:  # last good VM list kept through a failing fetch
        return Part("unknown", f"{text} ({problem.text})")
    level = _ratio_level(len([n for n in expected if n in running]), len(expected)) if expected else "n/a"
    return Part(level, text)


# -- schedulers ---------------------------------------------------------------------------------
def slurm_node_up(node: Any) -> bool:
    flags = set(getattr(node, "state_flags", ()) or ())
    return (str(getattr(node, "state", "")).upper() not in SLURM_NODE_NOT_UP
            and "DRAIN" not in flags and "NOT_RESPONDING" not in flags)


def slurm_part(slurm: Snapshot | None) -> Part:
    problem = _source_problem(slurm, "SLURM controller")
    if problem is not None:
        return problem
    assert slurm is not None
    nodes = list(slurm.sections.get("nodes") or ())
    up = [n for n in nodes if slurm_node_up(n)]
    text = f"controller answering; nodes {len(up)}/{len(nodes)} up"
    not_up = [f"{getattr(n, 'name', '?')} {getattr(n, 'state_label', '')}".strip() for n in nodes if n not in up]
    if not_up:
        text += f" ({', '.join(not_up)})"
    return Part(_ratio_level(len(up), len(nodes)), text)


def kube_part(kube: Snapshot | None) -> Part:
    problem = _source_problem(kube, "Kubernetes API")
    if problem is not None:
        return problem
    assert kube is not None
    nodes = list(kube.sections.get("nodes") or ())
    ready = [n for n in nodes if getattr(n, "ready", False)]
    text = f"API answering; nodes {len(ready)}/{len(nodes)} Ready"
    not_ready = [getattr(n, "name", "?") for n in nodes if n not in ready]
    if not_ready:
        text += f" (NotReady: {', '.join(not_ready)})"
    return Part(_ratio_level(len(ready), len(nodes)), text)


# -- storage ------------------------------------------------------------------------------------
VERDICT_LEVELS: dict[str, Level] = {"ok": "ok", "degraded": "degraded", "critical": "down"}


def beegfs_part(storage: Snapshot | None, configured: bool) -> Part:
    if storage is not None and storage.status is Status.UNCONFIGURED and not configured:
        return Part("n/a", "no BeeGFS in the config")
    problem = _source_problem(storage, "BeeGFS")
    if problem is not None:
        return problem
    assert storage is not None
    verdict = storage.sections.get("verdict")
    status = getattr(verdict, "status", None) or (verdict.get("status") if isinstance(verdict, Mapping) else None)
    summary = getattr(verdict, "summary", None) or (verdict.get("summary") if isinstance(verdict, Mapping) else None)
    if status is None:
        return Part("unknown", "BeeGFS answered without a verdict")
    return Part(VERDICT_LEVELS.get(str(status), "unknown"), f"BeeGFS {status}" + (f": {summary}" if summary else ""))


# -- GPUs ---------------------------------------------------------------------------------------
def _running_gpus(vms: Snapshot | None) -> dict[str, str]:
    """PCI address -> the running VM it is passed to."""
    out: dict[str, str] = {}
    for item in (vms.items.values() if vms is not None else ()):
        if getattr(item, "state", None) == "running":
            for address in getattr(item, "gpus", ()) or ():
                out[str(address).lower()] = item.name
    return out


def gpus_part(plan: ClusterPlan, vms: Snapshot | None) -> Part:
    """A GPU of the config is assigned when it is passed to a running VM of its own cluster."""
    wanted = {d.pci_address: vm for vm in plan.vms for d in vm.devices if d.device_type == "gpu"}
    if not wanted:
        return Part("n/a", "no GPUs in the config")
    problem = _source_problem(vms, "libvirt")
    if problem is not None and not (vms is not None and vms.items):
        return problem
    running = _running_gpus(vms)
    mine = {vm.name for vm in plan.vms}
    assigned = [a for a, vm in wanted.items() if running.get(a) == vm.name]
    elsewhere = [f"{a} held by {running[a]}" for a in wanted if a in running and running[a] not in mine]
    text = f"{len(assigned)}/{len(wanted)} assigned"
    if elsewhere:
        text += f" ({'; '.join(elsewhere)})"
    expected = [a for a, vm in wanted.items() if vm.auto_start]
    level: Level = "ok" if all(a in assigned for a in expected) else ("degraded" if assigned else "down")
    if problem is not None:
        return Part("unknown", f"{text} ({problem.text})")
    return Part(level, text)


# -- the clusters -------------------------------------------------------------------------------
def sources_for(config: CockpitConfig) -> tuple[str, ...]:
    """The sources `cockpit status` fetches: libvirt always, each cluster's scheduler and storage."""
    names = ["vms"]
    if config.clusters.hpc is not None:
        names += ["slurm", "storage"]
    if config.clusters.cloud is not None:
        names.append("kubernetes")
    return tuple(names)


def cluster_status(plan: ClusterPlan, config: CockpitConfig, snapshots: Mapping[str, Snapshot]) -> ClusterStatus:
    vms = snapshots.get("vms")
    if plan.kind == "hpc":
        hpc = config.clusters.hpc
        scheduler = slurm_part(snapshots.get("slurm"))
        configured = config.cockpit.beegfs is not None or (hpc is not None and hpc.storage is not None)
        storage = beegfs_part(snapshots.get("storage"), configured)
    else:
        scheduler = kube_part(snapshots.get("kubernetes"))
        storage = Part("n/a", "-")
    return ClusterStatus(kind=plan.kind, name=plan.name, vms=vms_part(plan, vms), scheduler=scheduler,
                         storage=storage, gpus=gpus_part(plan, vms))


def statuses(config: CockpitConfig, snapshots: Mapping[str, Snapshot]) -> list[ClusterStatus]:
    """hpc first, then cloud: the order the clusters come up in."""
    return [cluster_status(plan, config, snapshots) for plan in all_plans(config)]


def all_healthy(items: Iterable[ClusterStatus]) -> bool:
    return all(s.healthy for s in items)
