"""Snapshots -> Prometheus metric families (the `cockpit serve-metrics` exporter's mapping).

Pure: `metric_families(snapshots, now)` reads the hub's buffered snapshots and builds the
families; nothing here fetches (nvitop-exporter style: a scrape never reaches a backend).
`SnapshotCollector` hands the families to a prometheus_client registry.

Labels join across systems (gpu = PCI address, vm, node, job, pod, run) and stay bounded:
per-job, per-pod and per-run series exist only for running work, capped at `SERIES_CAP` each
(largest GPU count first); what the cap leaves out is counted in `cockpit_series_capped`. A GPU's
series also name the SLURM job and the pod the GPU map links it to (`job`, `pod`, `namespace`;
empty when none): still one series per GPU, whatever runs on it.
The metric table is in README ("Prometheus metrics").
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cockpit.gpu_map import NodePlace, build_gpu_map
from cockpit.snapshot import Snapshot, Status, utcnow

# Most per-job / per-pod / per-run series one scrape carries for each such metric.
SERIES_CAP = 100
MIB = 1024 * 1024

GPU_LABELS = ("gpu", "host", "vm", "model", "job", "pod", "namespace")


def _gauge(name: str, doc: str, labels: Iterable[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _ok(snap: Snapshot | None) -> bool:
    """Has this source ever delivered data (stale data still counts: it is what the screen shows)?"""
    return snap is not None and snap.status != Status.UNCONFIGURED and snap.fetched_at is not None


def _section(snap: Snapshot, name: str) -> list[Any]:
    """A snapshot section's entries: the sources give lists (SLURM and Kubernetes nodes); a
    mapping (keyed entries) gives its values."""
    value = snap.sections.get(name) or ()
    return list(value.values()) if isinstance(value, Mapping) else list(value)


def _capped(rows: list[Any], size: Callable[[Any], tuple[Any, ...]]) -> tuple[list[Any], int]:
    rows = sorted(rows, key=size)
    return rows[:SERIES_CAP], max(0, len(rows) - SERIES_CAP)


# -- sources ------------------------------------------------------------------------------------
def source_families(snapshots: Mapping[str, Snapshot], now: datetime) -> Iterator[Metric]:
    up = _gauge("cockpit_source_up", "1 when the source's last fetch succeeded, 0 when it failed or "
                "has not answered yet; unconfigured sources are absent", ["source"])
    age = _gauge("cockpit_source_age_seconds", "Seconds since the source's data was last fetched successfully",
                 ["source"])
    configured = _gauge("cockpit_source_configured", "1 when the source is configured", ["source"])
    items = _gauge("cockpit_source_items", "Items in the source's last snapshot", ["source"])
    for name, snap in snapshots.items():
        configured.add_metric([name], 0.0 if snap.status == Status.UNCONFIGURED else 1.0)
        if snap.status == Status.UNCONFIGURED:
            continue
        up.add_metric([name], 1.0 if snap.status == Status.OK and snap.fetched_at is not None else 0.0)
        seconds = snap.age_s(now)
        if seconds is not None:
            age.add_metric([name], max(0.0, seconds))
            items.add_metric([name], float(len(snap.items)))
    yield from (up, age, configured, items)


# -- GPUs ---------------------------------------------------------------------------------------
def gpu_work(snapshots: Mapping[str, Snapshot], places: Mapping[str, NodePlace] | None) -> dict[str, tuple[str, str, str]]:
    """gpus item key -> (job, pod, namespace) the GPU map links it to, "" where none. Several on
    one GPU (shared) are joined with ",", so a GPU stays one series. Without the cluster config's
    places no VM is a node, and nothing is linked."""
    if not places:
        return {}
    jobs = snapshots["slurm"].items if "slurm" in snapshots else {}
    pods = snapshots["kubernetes"].items if "kubernetes" in snapshots else {}
    out: dict[str, tuple[str, str, str]] = {}
    for use in build_gpu_map(snapshots, places).gpus:
        if not use.allocated:
            continue
        job = ",".join(sorted(str(getattr(jobs.get(k), "display_id", None) or k) for k in use.jobs))
        held = [pods[k] for k in use.pods if k in pods]
        pod = ",".join(sorted(str(getattr(p, "name", "")) for p in held))
        namespace = ",".join(sorted({str(getattr(p, "namespace", "")) for p in held}))
        out[use.gpu] = (job, pod, namespace)
    return out


def gpu_families(snap: Snapshot | None, work: Mapping[str, tuple[str, str, str]] | None = None) -> Iterator[Metric]:
    info = _gauge("cockpit_gpu_info", "One series per GPU: where it is, which VM holds it (vm empty: none) and the "
                  "SLURM job or pod the GPU map links it to (empty: none)", [*GPU_LABELS, "driver"])
    assigned = _gauge("cockpit_gpu_assigned", "1 when the GPU is passed through to a VM", ["gpu", "host", "vm"])
    util = _gauge("cockpit_gpu_utilization_ratio", "GPU utilisation, 0..1 (NVML on the host or in the guest)",
                  GPU_LABELS)
    mem_used = _gauge("cockpit_gpu_memory_used_bytes", "GPU memory in use", GPU_LABELS)
    mem_total = _gauge("cockpit_gpu_memory_total_bytes", "GPU memory in total", GPU_LABELS)
    temp = _gauge("cockpit_gpu_temperature_celsius", "GPU temperature", GPU_LABELS)
    power = _gauge("cockpit_gpu_power_watts", "GPU power draw", GPU_LABELS)
    families = (info, assigned, util, mem_used, mem_total, temp, power)
    if not _ok(snap):
        yield from families
        return
    assert snap is not None
    work = work or {}
    for key, gpu in snap.items.items():
        reading = gpu.nvml
        vm = gpu.assigned_to or ""
        model = (reading.name if reading is not None and reading.name else gpu.name) or ""
        labels = [gpu.pci_address, gpu.host, vm, model, *work.get(key, ("", "", ""))]
        info.add_metric([*labels, gpu.host_driver or ""], 1.0)
        assigned.add_metric([gpu.pci_address, gpu.host, vm], 1.0 if gpu.assigned_to else 0.0)
        if reading is None:
            continue
        if reading.utilization_pct is not None:
            util.add_metric(labels, reading.utilization_pct / 100.0)
        if reading.memory_used_mib is not None:
            mem_used.add_metric(labels, float(reading.memory_used_mib * MIB))
        if reading.memory_total_mib is not None:
            mem_total.add_metric(labels, float(reading.memory_total_mib * MIB))
        if reading.temperature_c is not None:
            temp.add_metric(labels, float(reading.temperature_c))
        if reading.power_w is not None:
            power.add_metric(labels, float(reading.power_w))
    yield from families


# -- VMs ----------------------------------------------------------------------------------------
def vm_families(snap: Snapshot | None) -> Iterator[Metric]:
    state = _gauge("cockpit_vm_state", "1 for the VM's current libvirt state (label state)", ["vm", "host", "state"])
    vcpus = _gauge("cockpit_vm_vcpus", "vCPUs of the VM", ["vm", "host"])
    memory = _gauge("cockpit_vm_memory_bytes", "Memory of the VM", ["vm", "host"])
    cpu = _gauge("cockpit_vm_cpu_ratio", "CPU use of the VM over its vCPUs, 0..1", ["vm", "host"])
    gpus = _gauge("cockpit_vm_gpus", "PCI functions passed through to the VM", ["vm", "host"])
    families = (state, vcpus, memory, cpu, gpus)
    if not _ok(snap):
        yield from families
        return
    assert snap is not None
    for vm in snap.items.values():
        labels = [vm.name, vm.host]
        state.add_metric([*labels, vm.state], 1.0)
        vcpus.add_metric(labels, float(vm.vcpus))
        memory.add_metric(labels, float(vm.memory_mib * MIB))
        if vm.cpu_percent is not None:
            cpu.add_metric(labels, vm.cpu_percent / 100.0)
        gpus.add_metric(labels, float(len(vm.gpus)))
    yield from families


# -- SLURM --------------------------------------------------------------------------------------
def slurm_families(snap: Snapshot | None, capped: GaugeMetricFamily) -> Iterator[Metric]:
    jobs = _gauge("cockpit_slurm_jobs", "Jobs in the queue by state and partition", ["state", "partition"])
    job_gpus = _gauge("cockpit_slurm_job_gpus", f"GPUs allocated to a running job (at most {SERIES_CAP} jobs, "
                      "most GPUs first)", ["job", "user", "partition"])
    node_state = _gauge("cockpit_slurm_node_state", "1 for the node's current state as sinfo prints it",
                        ["node", "state"])
    node_gpus = _gauge("cockpit_slurm_node_gpus", "GPUs (GRES) configured on the node", ["node"])
    node_gpus_alloc = _gauge("cockpit_slurm_node_gpus_allocated", "GPUs (GRES) allocated on the node", ["node"])
    families = (jobs, job_gpus, node_state, node_gpus, node_gpus_alloc)
    if not _ok(snap):
        yield from families
        return
    assert snap is not None
    counts = Counter((job.state, job.partition or "") for job in snap.items.values())
    for (state, partition), n in sorted(counts.items()):
        jobs.add_metric([state, partition], float(n))
    running = [j for j in snap.items.values() if j.state == "RUNNING" and j.gpus > 0]
    shown, left_out = _capped(running, lambda j: (-j.gpus, j.job_id))
    for job in shown:
        job_gpus.add_metric([job.display_id, job.user or "", job.partition or ""], float(job.gpus))
    capped.add_metric(["cockpit_slurm_job_gpus"], float(left_out))
    for node in _section(snap, "nodes"):
        node_state.add_metric([node.name, node.state_label], 1.0)
        node_gpus.add_metric([node.name], float(node.gpus))
        node_gpus_alloc.add_metric([node.name], float(node.gpus_used))
    yield from families


# -- storage ------------------------------------------------------------------------------------
def storage_families(snap: Snapshot | None) -> Iterator[Metric]:
    labels = ["target", "type", "node"]
    free_ratio = _gauge("cockpit_storage_target_free_ratio", "Free share of the BeeGFS target's capacity, 0..1",
                        labels)
    free = _gauge("cockpit_storage_target_free_bytes", "Free bytes on the BeeGFS target", labels)
    total = _gauge("cockpit_storage_target_total_bytes", "Capacity of the BeeGFS target", labels)
    online = _gauge("cockpit_storage_target_online", "1 when the target's reachability is Online", labels)
    families = (free_ratio, free, total, online)
    if not _ok(snap):
        yield from families
        return
    assert snap is not None
    for key, target in snap.items.items():
        values = [key, target.type, target.node or ""]
        if target.total_bytes and target.free_bytes is not None:
            free_ratio.add_metric(values, target.free_bytes / target.total_bytes)
        if target.free_bytes is not None:
            free.add_metric(values, float(target.free_bytes))
        if target.total_bytes is not None:
            total.add_metric(values, float(target.total_bytes))
        if target.reachability is not None:
            online.add_metric(values, 1.0 if target.reachability == "Online" else 0.0)
    yield from families


# -- Kubernetes ---------------------------------------------------------------------------------
def kube_families(snap: Snapshot | None, capped: GaugeMetricFamily) -> Iterator[Metric]:
    pods = _gauge("cockpit_kube_pods", "Pods by phase", ["phase"])
    pod_gpus = _gauge("cockpit_kube_pod_gpus", f"GPUs requested by a running pod (at most {SERIES_CAP} pods, "
                      "most GPUs first)", ["pod", "namespace", "node"])
    node_cap = _gauge("cockpit_kube_node_gpus", "Allocatable nvidia.com/gpu on the node", ["node"])
    node_alloc = _gauge("cockpit_kube_node_gpus_allocated", "nvidia.com/gpu requested by unfinished pods on the node",
                        ["node"])
    families = (pods, pod_gpus, node_cap, node_alloc)
    if not _ok(snap):
        yield from families
        return
    assert snap is not None
    for phase, n in sorted(Counter(p.phase for p in snap.items.values()).items()):
        pods.add_metric([phase], float(n))
    running = [p for p in snap.items.values() if p.phase == "Running" and p.gpus > 0]
    shown, left_out = _capped(running, lambda p: (-p.gpus, p.namespace, p.name))
    for pod in shown:
        pod_gpus.add_metric([pod.name, pod.namespace, pod.node or ""], float(pod.gpus))
    capped.add_metric(["cockpit_kube_pod_gpus"], float(left_out))
    for node in _section(snap, "nodes"):
        node_cap.add_metric([node.name], float(node.gpu_allocatable))
        node_alloc.add_metric([node.name], float(node.gpu_allocated))
    yield from families


# -- MLflow -------------------------------------------------------------------------------------
def mlflow_families(snap: Snapshot | None, capped: GaugeMetricFamily) -> Iterator[Metric]:
    runs = _gauge("cockpit_mlflow_runs", "Runs in the snapshot by status", ["status"])
    active = _gauge("cockpit_mlflow_run_active", f"1 per RUNNING run (at most {SERIES_CAP}), with the SLURM job "
                    "or pod it logs from (link tags slurm_job_id, k8s_pod)", ["run", "experiment", "job", "pod"])
    families = (runs, active)
    if not _ok(snap):
        yield from families
        return
    assert snap is not None
    for status, n in sorted(Counter(r.status for r in snap.items.values()).items()):
        runs.add_metric([status], float(n))
    running = [r for r in snap.items.values() if r.status == "RUNNING"]
    shown, left_out = _capped(running, lambda r: (r.start_time or "", r.run_id))
    for run in shown:
        active.add_metric([run.run_id, run.experiment, run.tags.get("slurm_job_id", ""),
                           run.tags.get("k8s_pod", "")], 1.0)
    capped.add_metric(["cockpit_mlflow_run_active"], float(left_out))
    yield from families


def metric_families(snapshots: Mapping[str, Snapshot], now: datetime | None = None,
                    places: Mapping[str, NodePlace] | None = None) -> list[Metric]:
    """Every family for one scrape, from the snapshots as they are (no fetch); `places` (VM ->
    the node it is, cockpit.gpu_map.vm_places of the config) lets GPU series name their job or pod."""
    now = now or utcnow()
    capped = _gauge("cockpit_series_capped", f"Series left out of a metric by the {SERIES_CAP}-series cap",
                    ["metric"])
    out: list[Metric] = [*source_families(snapshots, now)]
    gpus = snapshots.get("gpus")
    out += gpu_families(gpus, gpu_work(snapshots, places) if _ok(gpus) else None)
    out += vm_families(snapshots.get("vms"))
    out += slurm_families(snapshots.get("slurm"), capped)
    out += storage_families(snapshots.get("storage"))
    out += kube_families(snapshots.get("kubernetes"), capped)
    out += mlflow_families(snapshots.get("mlflow"), capped)
    out.append(capped)
    return out


class SnapshotCollector(Collector):
    """A prometheus_client collector over a callable returning the hub's current snapshots."""

    def __init__(self, snapshots: Callable[[], Mapping[str, Snapshot]],
                 places: Mapping[str, NodePlace] | None = None) -> None:
        self._snapshots = snapshots
        self._places = places

    def collect(self) -> Iterable[Metric]:
        return metric_families(self._snapshots(), places=self._places)
