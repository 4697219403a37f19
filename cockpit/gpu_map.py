"""The GPU map: from each GPU to what uses it, joined from the current snapshots.

    GPU (host PCI address, UUID) -> VM it is passed to -> SLURM node / Kubernetes node that VM is
    -> SLURM job holding that GRES index there / pod given every GPU of that node
    -> MLflow run that job or pod logs to (link tags `slurm_job_id`, `k8s_pod` + `k8s_namespace`)
    GPU left on the host -> the processes NVML lists on it -> the SLURM job or pod their cgroup
    names (cockpit/cgroup_owner.py) -> MLflow run

Every link is a fact read from the snapshots and the cluster config; a link that cannot be read
is absent, never guessed. Two joins rest on a stated rule, written into the link's `basis`:

- GRES index inside a VM: the n-th GPU hostdev of the domain is GPU index n in the guest
  (libvirt gives guest PCI slots in XML order, the driver numbers devices in guest bus order, and
  the provisioned gres.conf lists /dev/nvidia[0-N]); the same rule the guest telemetry uses.
- Pods: the device plugin does not publish which GPU a pod got, so a pod is linked only when it
  holds every GPU of its node (a running pod requesting as many GPUs as the node's VM has).

Pure over snapshot items (duck-typed: no backend import), so screens, the one-shot JSON, plans
and the metrics exporter can share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cockpit.cgroup_owner import owner_text
from cockpit.clusters import config_vms
from cockpit.snapshot import Snapshot

# SLURM and Kubernetes states in which a job or pod holds its GPUs.
_HOLDING_JOB_STATES = frozenset({"RUNNING", "SUSPENDED", "COMPLETING", "STOPPED"})
_HOLDING_POD_PHASES = frozenset({"Running", "Pending"})
# Sources whose snapshots the GPU map reads for allocation and use: a new snapshot of any of them
# can change which GPUs are allocated-but-idle.
USE_SOURCES = frozenset({"gpus", "vms", "slurm", "kubernetes"})
# The gpus snapshot section naming the allocated-but-idle GPUs (keys), for the GPU table.
IDLE_SECTION = "allocated_idle"
# Link relations in the order a chain reads: gpu -> vm -> node -> job/pod -> run.
CHAIN_ORDER = ("passed_to", "is_node", "allocated_to", "logs_to")


@dataclass(frozen=True)
class NodePlace:
    """What a VM of the config is inside: a SLURM node of the hpc cluster or a Kubernetes node."""

    kind: str  # "slurm" | "kubernetes"
    node: str


@dataclass(frozen=True)
class IdlePolicy:
    """Allocated-but-idle: utilisation under `below_pct` for `for_s` seconds. The map reads only
    current snapshots, so `GpuUse.idle` rests on the current reading; a view that keeps running
    checks the duration with an IdleClock (cockpit/idle_clock.py)."""

    below_pct: float = 5.0
    for_s: float = 600.0


@dataclass(frozen=True)
class Ref:
    source: str
    key: str
    section: str | None = None  # a secondary section of the source ("nodes"), None for its items

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "key": self.key}
        if self.section:
            out["section"] = self.section
        return out


@dataclass(frozen=True)
class Link:
    src: Ref
    dst: Ref
    relation: str  # passed_to | is_node | allocated_to | logs_to
    basis: str  # what the link was read from
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = {"from": self.src.as_json(), "to": self.dst.as_json(), "relation": self.relation, "basis": self.basis}
        if self.attrs:
            out.update(dict(self.attrs))
        return out


@dataclass(frozen=True)
class GpuUse:
    """One GPU with the chain it belongs to and its use against allocation."""

    gpu: str  # gpus item key (host/PCI address)
    pci_address: str
    uuid: str | None = None
    vm: str | None = None  # VM name
    node: str | None = None  # SLURM or Kubernetes node name
    gres_index: int | None = None
    jobs: tuple[str, ...] = ()  # SLURM job ids holding it
    pods: tuple[str, ...] = ()  # pod UIDs holding it
    runs: tuple[str, ...] = ()  # MLflow run ids of those jobs and pods
    # Host processes using a GPU that stays on the host: "pid command (owner)" each.
    processes: tuple[str, ...] = ()
    utilization_pct: int | None = None
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    power_w: float | None = None

    @property
    def allocated(self) -> bool:
        return bool(self.jobs or self.pods)

    def idle(self, policy: IdlePolicy) -> bool | None:
        """True when allocated and under the threshold now; None when there is no reading."""
        if not self.allocated:
            return False
        if self.utilization_pct is None:
            return None
        return self.utilization_pct < policy.below_pct

    def as_json(self, policy: IdlePolicy) -> dict[str, Any]:
        return {
            "gpu": self.gpu, "pci_address": self.pci_address, "uuid": self.uuid, "vm": self.vm, "node": self.node,
            "gres_index": self.gres_index, "jobs": list(self.jobs), "pods": list(self.pods), "runs": list(self.runs),
            "processes": list(self.processes), "utilization_pct": self.utilization_pct, "memory_used_mib": self.memory_used_mib,
            "memory_total_mib": self.memory_total_mib, "power_w": self.power_w,
            "allocated": self.allocated, "idle": self.idle(policy),
        }


@dataclass(frozen=True)
class GpuMap:
    gpus: tuple[GpuUse, ...]
    links: tuple[Link, ...]
    policy: IdlePolicy = IdlePolicy()

    def chain(self, gpu_key: str) -> list[Link]:
        """Every link reachable from one GPU, in chain order (gpu -> vm -> node -> job/pod -> run)."""
        out: list[Link] = []
        frontier: set[tuple[str, str, str | None]] = {("gpus", gpu_key, None)}
        seen = set(frontier)
        while frontier:
            step = [lk for lk in self.links if (lk.src.source, lk.src.key, lk.src.section) in frontier]
            out.extend(step)
            frontier = {(lk.dst.source, lk.dst.key, lk.dst.section) for lk in step} - seen
            seen |= frontier
        return sorted(out, key=lambda lk: CHAIN_ORDER.index(lk.relation))

    def chain_through(self, ref: Ref) -> list[Link]:
        """Every link of the chains an item (a VM, node, job, pod or run) lies on: the chains of
        the GPUs that reach it, plus its own job/pod -> run links (a run followed back without a
        GPU), in chain order, each link once."""
        if ref.source == "gpus" and ref.section is None:
            return self.chain(ref.key)
        out: list[Link] = []  # links hold a dict of attrs: not hashable, kept in a list
        for use in self.gpus:
            chain = self.chain(use.gpu)
            if any(lk.dst == ref for lk in chain):
                out.extend(lk for lk in chain if lk not in out)
        out.extend(lk for lk in self.links
                   if lk.relation == "logs_to" and ref in (lk.src, lk.dst) and lk not in out)
        return sorted(out, key=lambda lk: CHAIN_ORDER.index(lk.relation))

    def idle_gpus(self) -> frozenset[str]:
        """Keys of the GPUs allocated to a job or pod and under the idle threshold now."""
        return frozenset(g.gpu for g in self.gpus if g.idle(self.policy))

    def as_json(self) -> dict[str, Any]:
        return {
            "links": [lk.as_json() for lk in self.links],
            "gpu_use": {"idle_below_pct": self.policy.below_pct, "idle_for_s": self.policy.for_s,
                        "idle_basis": "current reading (the duration needs history)",
                        "gpus": [g.as_json(self.policy) for g in self.gpus]},
        }


def policy_of(config: Any) -> IdlePolicy:
    """The idle threshold of the config (cockpit.gpus.idle_below_pct / idle_for_min)."""
    gpus = config.cockpit.gpus
    return IdlePolicy(below_pct=gpus.idle_below_pct, for_s=gpus.idle_for_min * 60)


def vm_places(config: Any) -> dict[str, NodePlace]:
    """VM name -> the node it is, from the cluster config's naming (cockpit/clusters.py): an hpc
    VM `<cluster>-<node>` is SLURM node `<node>` (inventory's slurm_node_name); a cloud VM is the
    Kubernetes node of the same name (Kubespray names nodes after inventory hosts)."""
    out: dict[str, NodePlace] = {}
    for vm in config_vms(config):
        if vm.kind == "hpc":
            if vm.role == "compute":
                out[vm.name] = NodePlace("slurm", vm.name[len(vm.cluster) + 1:])
        else:
            out[vm.name] = NodePlace("kubernetes", vm.name)
    return out


def _items(snapshots: Mapping[str, Snapshot], source: str) -> Mapping[str, Any]:
    snap = snapshots.get(source)
    return snap.items if snap is not None else {}


def _section_keys(snapshots: Mapping[str, Snapshot], source: str, section: str) -> set[str]:
    snap = snapshots.get(source)
    value = snap.sections.get(section) if snap is not None else None
    if isinstance(value, Mapping):
        return {str(k) for k in value}
    return {str(getattr(v, "name", "")) for v in value or ()} - {""}


def expand_indices(text: str) -> set[int]:
    """Slurm's GRES index list: '0-1', '0,2', '0-1,3' -> {0, 1, 3}; junk parts are skipped."""
    out: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.update(range(int(lo), int(hi or lo) + 1))
    return out


def build_gpu_map(snapshots: Mapping[str, Snapshot], places: Mapping[str, NodePlace],
                  policy: IdlePolicy = IdlePolicy()) -> GpuMap:
    gpus, vms = _items(snapshots, "gpus"), _items(snapshots, "vms")
    jobs, pods, runs = _items(snapshots, "slurm"), _items(snapshots, "kubernetes"), _items(snapshots, "mlflow")
    slurm_nodes = _section_keys(snapshots, "slurm", "nodes")
    kube_nodes = _section_keys(snapshots, "kubernetes", "nodes")
    links: list[Link] = []

    vm_by_name: dict[tuple[str, str], tuple[str, Any]] = {}
    for key, vm in vms.items():
        vm_by_name[(vm.host, vm.name)] = (key, vm)

    # SLURM: (node, index) -> job keys holding it.
    held: dict[tuple[str, int], list[str]] = {}
    for key, job in jobs.items():
        if getattr(job, "state", None) not in _HOLDING_JOB_STATES:
            continue
        for node, indices in (getattr(job, "gpu_indices", None) or {}).items():
            for index in expand_indices(str(indices)):
                held.setdefault((node, index), []).append(key)
    # Kubernetes: node -> pods holding GPUs there.
    pods_on: dict[str, list[tuple[str, Any]]] = {}
    for key, pod in pods.items():
        if getattr(pod, "gpus", 0) and getattr(pod, "node", None) and getattr(pod, "phase", None) in _HOLDING_POD_PHASES:
            pods_on.setdefault(pod.node, []).append((key, pod))
    # MLflow: link tags -> runs.
    runs_of_job: dict[str, list[str]] = {}
    runs_of_pod: dict[tuple[str, str], list[str]] = {}
    for key, run in runs.items():
        tags = getattr(run, "tags", None) or {}
        if tags.get("slurm_job_id"):
            runs_of_job.setdefault(str(tags["slurm_job_id"]), []).append(key)
        if tags.get("k8s_pod"):
            runs_of_pod.setdefault((tags.get("k8s_namespace") or "", tags["k8s_pod"]), []).append(key)

    def job_runs(job_key: str) -> list[str]:
        job = jobs[job_key]
        ids = {str(getattr(job, "job_id", job_key)), str(getattr(job, "display_id", job_key))}
        return sorted({r for i in ids for r in runs_of_job.get(i, ())})

    def pod_runs(pod: Any) -> list[str]:
        # A run tagged with a pod name but no namespace could name a pod of any namespace: not linked.
        return sorted(runs_of_pod.get((pod.namespace, pod.name), ()))

    rows: list[GpuUse] = []
    linked_vms: set[str] = set()
    for gkey, gpu in gpus.items():
        nvml = getattr(gpu, "nvml", None)
        row: dict[str, Any] = {"gpu": gkey, "pci_address": gpu.pci_address, "uuid": getattr(nvml, "uuid", None)}
        if nvml is not None:
            row.update(utilization_pct=nvml.utilization_pct, memory_used_mib=nvml.memory_used_mib,
                       memory_total_mib=nvml.memory_total_mib, power_w=nvml.power_w)
        found = vm_by_name.get((gpu.host, gpu.assigned_to)) if gpu.assigned_to else None
        if found is None:
            # On the host: the processes NVML lists, and the job or pod their cgroups name.
            host_jobs: list[str] = []
            host_pods: list[str] = []
            host_runs: list[str] = []
            procs: list[str] = []
            for proc in (getattr(nvml, "processes", None) or ()) if gpu.assigned_to is None else ():
                procs.append(_process_text(proc))
                kind, oid = getattr(proc, "owner_kind", None), str(getattr(proc, "owner_id", None) or "")
                basis = f"host process {proc.pid} cgroup {getattr(proc, 'cgroup', '')}"
                if kind == "slurm_job" and oid in jobs and oid not in host_jobs:
                    host_jobs.append(oid)
                    links.append(Link(Ref("gpus", gkey), Ref("slurm", oid), "allocated_to", basis, {"pid": proc.pid}))
                    host_runs.extend(job_runs(oid))
                elif kind == "pod" and oid in pods and oid not in host_pods:
                    host_pods.append(oid)
                    links.append(Link(Ref("gpus", gkey), Ref("kubernetes", oid), "allocated_to", basis, {"pid": proc.pid}))
                    host_runs.extend(pod_runs(pods[oid]))
            row.update(jobs=tuple(host_jobs), pods=tuple(host_pods), runs=tuple(dict.fromkeys(host_runs)),
                       processes=tuple(procs))
            rows.append(GpuUse(**row))
            continue
        vkey, vm = found
        row["vm"] = vm.name
        links.append(Link(Ref("gpus", gkey), Ref("vms", vkey), "passed_to", "libvirt domain hostdev"))
        place = places.get(vm.name)
        if place is None:
            rows.append(GpuUse(**row))
            continue
        known = slurm_nodes if place.kind == "slurm" else kube_nodes
        if place.node not in known:
            rows.append(GpuUse(**row))
            continue
        row["node"] = place.node
        if vkey not in linked_vms:
            linked_vms.add(vkey)
            links.append(Link(Ref("vms", vkey), Ref(place.kind, place.node, "nodes"), "is_node", "cluster config naming"))
        vm_gpus = [a for a in vm.gpus if f"{gpu.host}/{a}" in gpus]
        gres_index = vm_gpus.index(gpu.pci_address) if gpu.pci_address in vm_gpus else None
        job_keys: list[str] = []
        pod_keys: list[str] = []
        run_keys: list[str] = []
        if place.kind == "slurm" and gres_index is not None:
            row["gres_index"] = gres_index
            for jkey in held.get((place.node, gres_index), ()):
                job_keys.append(jkey)
                links.append(Link(Ref("gpus", gkey), Ref("slurm", jkey), "allocated_to",
                                  "gres_detail IDX; guest index = hostdev order",
                                  {"node": place.node, "gres_index": gres_index}))
                run_keys.extend(job_runs(jkey))
        elif place.kind == "kubernetes":
            for pkey, pod in pods_on.get(place.node, ()):
                if pod.gpus == len(vm_gpus):
                    pod_keys.append(pkey)
                    links.append(Link(Ref("gpus", gkey), Ref("kubernetes", pkey), "allocated_to",
                                      "pod requests every GPU of its node", {"node": place.node}))
                    run_keys.extend(pod_runs(pod))
        row.update(jobs=tuple(job_keys), pods=tuple(pod_keys), runs=tuple(dict.fromkeys(run_keys)))
        rows.append(GpuUse(**row))

    # Job -> run and pod -> run, for every job and pod (a run can be followed back without a GPU).
    for jkey in jobs:
        for rkey in job_runs(jkey):
            links.append(Link(Ref("slurm", jkey), Ref("mlflow", rkey), "logs_to", "run tag slurm_job_id"))
    for pkey, pod in pods.items():
        for rkey in pod_runs(pod):
            links.append(Link(Ref("kubernetes", pkey), Ref("mlflow", rkey), "logs_to", "run tags k8s_pod, k8s_namespace"))
    return GpuMap(gpus=tuple(rows), links=tuple(links), policy=policy)


def _process_text(proc: Any) -> str:
    """'4242 python (SLURM job 42 step 0)': a host process as the map shows it."""
    text = f"{proc.pid} {getattr(proc, 'command', None) or '?'}"
    kind = getattr(proc, "owner_kind", None)
    if kind:
        text += f" ({owner_text(kind, getattr(proc, 'owner_id', None), getattr(proc, 'owner_detail', None))})"
    return text


def gpus_with_idle(snapshots: Mapping[str, Snapshot], config: Any, clock: Any = None,
                   now: float | None = None) -> Snapshot | None:
    """The gpus snapshot with the allocated-but-idle GPUs as its IDLE_SECTION (the GPU table shows
    them): with an IdleClock (cockpit/idle_clock.py) and `now`, GPU key -> seconds idle, only those
    idle for the policy's whole `for_s`; without one, the keys idle in the current reading.
    None when there is no gpus snapshot."""
    gpus = snapshots.get("gpus")
    if gpus is None:
        return None
    gmap = build_gpu_map(snapshots, vm_places(config), policy_of(config))
    idle: Any
    if clock is not None and now is not None:
        idle = {key: seconds for key, seconds in clock.observe(gmap, now).items() if seconds >= gmap.policy.for_s}
    else:
        idle = gmap.idle_gpus()
    return gpus.evolve(sections={**gpus.sections, IDLE_SECTION: idle})


def link_targets_exist(links: Iterable[Link], snapshots: Mapping[str, Snapshot]) -> list[Link]:
    """Links whose either end names no item of the snapshots (empty when the map is sound)."""
    def exists(ref: Ref) -> bool:
        if ref.section:
            return ref.key in _section_keys(snapshots, ref.source, ref.section)
        return ref.key in _items(snapshots, ref.source)

    return [lk for lk in links if not (exists(lk.src) and exists(lk.dst))]
