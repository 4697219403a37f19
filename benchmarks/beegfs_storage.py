"""Storage source figures: parse time for a large BeeGFS, fetch latency over SSH (test sshd with the
stub tools, cold and warm pool), and a local throughput probe. Prints figures; asserts nothing.

    PYTHONPATH=$PWD python benchmarks/beegfs_storage.py [--probe-mb 256]

The SSH part needs root, openssh-server and unshare (as the tests); it is skipped otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

from backends.beegfs import parsers, probe

REPO = Path(__file__).resolve().parent.parent


def synthetic(n_targets: int) -> tuple[str, str]:
    listtargets = "%8s %16s %12s %8s\n%8s %16s %12s %8s\n" % (
        "TargetID", "Reachability", "Consistency", "NodeID", "========", "============", "===========", "======")
    df = "STORAGE TARGETS:\n" + "%8s %11s %12s %12s %4s %11s %11s %4s\n" % (
        "TargetID", "Cap. Pool", "Total", "Free", "%", "ITotal", "IFree", "%")
    for i in range(1, n_targets + 1):
        listtargets += "%8d %16s %12s   beegfs-storage stor%03d [ID: %d]\n" % (i, "Online", "Good", i // 8, i // 8 + 1)
        df += "%8d %11s %9.1fGiB %9.1fGiB %3.0f%% %10.1fM %10.1fM %3.0f%%\n" % (i, "normal", 7448.1, 6000.0, 81, 745.4, 700.0, 94)
    return listtargets, df


def bench_parse(n: int) -> None:
    listtargets, df = synthetic(n)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        parsers.parse_ctl_listtargets(listtargets, "storage")
        parsers.parse_beegfs_df(df)
        runs.append(time.perf_counter() - start)
    print(f"parse {n} targets (listtargets + beegfs-df): median {statistics.median(runs) * 1000:.1f} ms")


def load_lab_module():
    spec = importlib.util.spec_from_file_location("beegfs_lab_conftest", REPO / "tests/backends/beegfs/conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


async def bench_fetch(lab, management: str, clients: tuple[str, ...], rounds: int = 10) -> None:
    from backends.beegfs.source import BeegfsSource

    cold = []
    for _ in range(3):
        source = BeegfsSource(lab.settings(management, clients))
        start = time.perf_counter()
        await source.fetch()
        cold.append(time.perf_counter() - start)
        await source.close()
    source = BeegfsSource(lab.settings(management, clients))
    await source.fetch()
    warm = []
    for _ in range(rounds):
        start = time.perf_counter()
        await source.fetch()
        warm.append(time.perf_counter() - start)
    await source.close()
    print(f"fetch {management} + {len(clients)} clients: cold (connect+detect) median {statistics.median(cold) * 1000:.0f} ms, "
          f"warm median {statistics.median(warm) * 1000:.0f} ms, max {max(warm) * 1000:.0f} ms")


async def bench_probe(size_mb: int) -> None:
    with tempfile.TemporaryDirectory(dir=Path.home()) as d:
        history = Path(d) / "h.jsonl"
        (Path(d) / "p").mkdir()
        record = await probe.run_probe(path=str(Path(d) / "p"), size_mb=size_mb, files=1000, target_mb_s=1000,
                                       history=history)
    node = record["nodes"][0]
    print(f"local probe {size_mb} MiB in {d}: write {record['write_mb_s']:.0f} MB/s ({node['write_s']:.2f} s incl. fdatasync), "
          f"read {record['read_mb_s']:.0f} MB/s (cache dropped: {node['cache_dropped']}), "
          f"create {record['create_ops_s']:.0f}/s stat {record['stat_ops_s']:.0f}/s remove {record['remove_ops_s']:.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe-mb", type=int, default=256)
    args = parser.parse_args()
    for n in (100, 2000):
        bench_parse(n)
    asyncio.run(bench_probe(args.probe_mb))
    lab_module = load_lab_module()
    why = lab_module.lab_unavailable()
    if why:
        print(f"SSH fetch skipped: {why}")
        return
    with tempfile.TemporaryDirectory() as root:
        lab, proc = lab_module.start_lab(Path(root))
        try:
            asyncio.run(bench_fetch(lab, "v7-good", ("client-mounted", "client-unmounted")))
            asyncio.run(bench_fetch(lab, "v8-good", ("client-mounted",)))
        finally:
            lab_module.stop_lab(proc)


if __name__ == "__main__":
    main()
