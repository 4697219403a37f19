"""Benchmark: 100 VMs on the libvirt test driver, the vms and gpus collectors ticking every second.

Prints, per tick: collector cost (wall time of one fetch, and CPU time of the process over the
run), XML reads (cached between ticks), and the frame cost of turning the snapshot into table
rows (the cells every pane draws) and into the full text table.

    python -m benchmarks.vms_collector [--vms 100] [--ticks 10] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from cockpit.hub import Collector, Timing


def host_xml(vms: int, gpus: int) -> str:
    from tests.backends.libvirt.hostxml import Fn, Vm, gpu_with_audio, render

    functions: list[Fn] = []
    for i in range(gpus):
        functions += gpu_with_audio(f"{0x10 + i:02x}", "0x2331", "GH100 [H100 PCIe]", 100 + i)
    machines = [Vm(f"vm-{i:03d}", running=i % 5 != 0, vcpus=4, memory_mib=4096,
                   hostdevs=[f"0000:{0x10 + i:02x}:00.0", f"0000:{0x10 + i:02x}:00.1"] if i < gpus else [])
                for i in range(vms)]
    return render(functions, machines)


async def run(vms: int, ticks: int, interval: float) -> None:
    from backends.gpus.source import GpuSource
    from backends.libvirt.source import LibvirtSource
    from screens.render import columns_for
    from screens.text_table import render_snapshots

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "host.xml"
        path.write_text(host_xml(vms, gpus=8))
        uri = f"test://{path}"
        vm_source = LibvirtSource({"bench": uri})
        gpu_source = GpuSource({"bench": uri}, nvml=False)
        collectors = {"vms": Collector(vm_source, Timing(interval=interval, min_interval=0)),
                      "gpus": Collector(gpu_source, Timing(interval=interval, min_interval=0))}
        costs: dict[str, list[float]] = {"vms": [], "gpus": []}
        rows_ms, table_ms = [], []
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        for _tick in range(ticks):
            started = time.perf_counter()
            for name, collector in collectors.items():
                t = time.perf_counter()
                snap = await collector.fetch_once()
                costs[name].append((time.perf_counter() - t) * 1000)
                assert snap.status.value == "ok", snap.error
            snap = collectors["vms"].snapshot
            items = list(snap.items.values())
            t = time.perf_counter()
            cols = columns_for("vms", items)
            _cells = [[c.cell(i) for c in cols] for i in items]
            rows_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            render_snapshots({"vms": snap, "gpus": collectors["gpus"].snapshot})
            table_ms.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        print(f"{vms} VMs ({len(collectors['gpus'].snapshot.items)} GPUs), {ticks} ticks every {interval:g} s")
        for name, values in costs.items():
            print(f"  {name:5s} fetch per tick: first {values[0]:7.1f} ms, then median {statistics.median(values[1:]):6.1f} ms,"
                  f" max {max(values[1:]):6.1f} ms")
        print(f"  domain XML reads: {vm_source.readers['bench'].xml_reads} (vms), {gpu_source.readers['bench'].xml_reads} (gpus)"
              f" over {ticks} ticks: cached after the first")
        print(f"  frame: 100 rows of cells median {statistics.median(rows_ms):.2f} ms; full text table median "
              f"{statistics.median(table_ms):.1f} ms")
        print(f"  process CPU over the run: {cpu:.2f} s of {wall:.1f} s wall = {100 * cpu / wall:.1f}% of one core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(run(args.vms, args.ticks, args.interval))


if __name__ == "__main__":
    main()
