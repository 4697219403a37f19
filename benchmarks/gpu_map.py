"""GPU map figures: build the map, its JSON and one GPU's chain over synthetic snapshot items
(64 VMs x 8 GPUs, 1,000 SLURM jobs of which 256 hold 2 GPUs each, 1,000 tagged runs).

    PYTHONPATH=. python benchmarks/gpu_map.py

The items are built in memory (the map is pure over snapshot items): this measures the join, not
any backend.
"""

from __future__ import annotations

import json
import time

from backends.gpus.models import GpuItem
from backends.libvirt.models import VmItem
from backends.mlflow.models import RunItem
from backends.slurm.models import Job, Node
from cockpit.gpu_map import NodePlace, build_gpu_map
from cockpit.snapshot import FetchResult, Snapshot, Status


def snap(src, items, **sec):
    r = FetchResult.of(items, **sec)
    return Snapshot(source=src, status=Status.OK, items=r.items, sections=r.sections)


def main() -> None:
    N_NODES, G = 64, 8
    gpus, vms, nodes, jobs, runs, places = [], [], [], [], [], {}
    for n in range(N_NODES):
        addrs = [f"0000:{n:02x}:{g:02x}.0" for g in range(G)]
        vms.append(VmItem(name=f"hpc-n{n}", uuid=f"u{n}", host="h", state="running", vcpus=1, memory_mib=1, gpus=tuple(addrs)))
        gpus += [GpuItem(pci_address=a, host="h", name="H100", vendor_id="10de", device_id="2330", assigned_to=f"hpc-n{n}") for a in addrs]
        nodes.append(Node(name=f"n{n}", state="MIXED", state_label="mixed"))
        places[f"hpc-n{n}"] = NodePlace("slurm", f"n{n}")
    for j in range(1000):
        n = j % N_NODES
        st = "RUNNING" if j < N_NODES * 4 else "PENDING"
        jobs.append(Job(job_id=j, display_id=str(j), name="t", state=st, gpu_indices={f"n{n}": f"{(j//N_NODES)*2}-{(j//N_NODES)*2+1}"} if st == "RUNNING" else {}))
        runs.append(RunItem(run_id=f"r{j}", experiment="e", experiment_id="1", status="RUNNING", tags={"slurm_job_id": str(j)}))
    s = {"gpus": snap("gpus", gpus), "vms": snap("vms", vms), "slurm": snap("slurm", jobs, nodes=nodes), "mlflow": snap("mlflow", runs)}
    t = time.perf_counter()
    m = build_gpu_map(s, places)
    b = time.perf_counter() - t
    t = time.perf_counter()
    doc = json.dumps(m.as_json())
    d = time.perf_counter() - t
    t = time.perf_counter()
    chain = m.chain("h/0000:00:00.0")
    ct = time.perf_counter() - t
    print(f"{len(gpus)} gpus, {len(jobs)} jobs, {len(runs)} runs: build {b*1000:.1f} ms, json {d*1000:.1f} ms ({len(doc)//1024} KiB), chain {ct*1000:.1f} ms ({len(chain)} links), links {len(m.links)}, allocated {sum(g.allocated for g in m.gpus)}")


if __name__ == "__main__":
    main()
