"""The GPU table's idle flag (screens/gpu_use.py): built in a worker thread from the newest
snapshots, arrivals during a build folded into one next build, a gpus snapshot drawn at once, no
build at all without GPUs. Data: the demo host on the libvirt test driver and jobs parsed from
real recorded squeue output (tests/cockpit/test_gpu_map.py)."""

from __future__ import annotations

import asyncio
import threading

from backends.gpus.models import NvmlReading
from cockpit.gpu_map import IDLE_SECTION
from screens import gpu_use
from screens.gpu_use import GpuUse
from tests.cockpit.test_gpu_map import host_snapshots, run, slurm_snapshot, snap  # noqa: F401

GPU = "workstation/0000:01:00.0"  # held by job 4 of the recorded lab


def _world(host_snapshots, pct: int):  # noqa: F811
    loaded, snapshots = host_snapshots
    gpus = dict(snapshots["gpus"].items)
    gpus[GPU] = gpus[GPU].model_copy(update={"nvml": NvmlReading(utilization_pct=pct, source="guest-nvidia-smi")})
    return loaded, {**snapshots, "gpus": snapshots["gpus"].evolve(items=gpus), "slurm": slurm_snapshot(),
                    "mlflow": snap("mlflow", [run("r-job4", slurm_job_id="4")])}


class Host:
    """What the app gives GpuUse: the hub's snapshots, and a GPU table that records its draws."""

    def __init__(self, snapshots) -> None:
        self.snapshots = snapshots
        self.drawn: list = []
        self.reports: list[str] = []

    def make(self, loaded, **kwargs) -> GpuUse:
        return GpuUse(lambda: self.snapshots, lambda: loaded.config, self.drawn.append, self.reports.append, **kwargs)


async def _run_until_done(use: GpuUse, start: bool) -> None:
    if start:
        await asyncio.wait_for(use.run(), 10)


async def test_flag_is_built_in_a_worker_thread_and_drawn(host_snapshots, monkeypatch) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots, pct=3)
    host = Host(snapshots)
    threads: list[str] = []
    real = gpu_use.gpus_with_idle

    def recording(*args):
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(gpu_use, "gpus_with_idle", recording)
    use = host.make(loaded)
    await _run_until_done(use, use.arrived(None))
    assert threads and all(name.startswith("cockpit-gpu-map") for name in threads)
    assert threading.main_thread().name not in threads
    # Drawn twice: at once without a flag (none built yet), then with the flag.
    assert IDLE_SECTION not in host.drawn[0].sections
    assert host.drawn[-1].sections[IDLE_SECTION] == frozenset({GPU})
    assert use.idle == frozenset({GPU})
    use.close()


async def test_arrivals_during_a_build_fold_into_one_next_build(host_snapshots, monkeypatch) -> None:  # noqa: F811
    loaded, busy = _world(host_snapshots, pct=60)
    _, idle = _world(host_snapshots, pct=3)
    host = Host(busy)
    started, release = threading.Event(), threading.Event()
    real = gpu_use.gpus_with_idle
    seen: list[int] = []

    def slow(snapshots, config, *rest):
        seen.append(snapshots["gpus"].items[GPU].nvml.utilization_pct)
        started.set()
        release.wait(10)
        return real(snapshots, config, *rest)

    monkeypatch.setattr(gpu_use, "gpus_with_idle", slow)
    use = host.make(loaded, min_gap_s=0)
    assert use.arrived(None) is True
    task = asyncio.ensure_future(use.run())
    await asyncio.to_thread(started.wait, 10)
    # Ten arrivals while the first build runs: no second worker, and the next build sees the newest.
    host.snapshots = idle
    assert [use.arrived(host.snapshots["slurm"]) for _ in range(10)] == [False] * 10
    release.set()
    await asyncio.wait_for(task, 10)
    assert seen == [60, 3]
    assert use.builds == 2
    assert host.drawn[-1].sections[IDLE_SECTION] == frozenset({GPU})
    use.close()


async def test_a_gpus_snapshot_is_drawn_at_once_with_the_last_flag(host_snapshots) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots, pct=3)
    host = Host(snapshots)
    use = host.make(loaded, min_gap_s=3600)
    await _run_until_done(use, use.arrived(None))
    newer = snapshots["gpus"].evolve(version=99, items=dict(snapshots["gpus"].items))  # as a new fetch brings them
    host.snapshots = {**snapshots, "gpus": newer}
    drawn = len(host.drawn)
    start = use.arrived(newer)
    assert len(host.drawn) == drawn + 1  # before any worker ran
    assert host.drawn[-1].version == 99 and host.drawn[-1].sections[IDLE_SECTION] == frozenset({GPU})
    assert start is True  # and a rebuild is wanted (after the minimum gap)
    use.close()


async def test_no_gpus_no_map(host_snapshots, monkeypatch) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots, pct=3)
    empty = snapshots["gpus"].evolve(items={})
    host = Host({**snapshots, "gpus": empty})
    monkeypatch.setattr(gpu_use, "gpus_with_idle", lambda *a: (_ for _ in ()).throw(AssertionError("built")))
    use = host.make(loaded)
    assert use.arrived(None) is False
    assert use.arrived(snapshots["slurm"]) is False
    assert host.drawn[-1].sections[IDLE_SECTION] == {}  # no IDLE column
    assert use.builds == 0


async def test_a_map_error_is_reported_and_the_table_stays(host_snapshots, monkeypatch) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots, pct=3)
    host = Host(snapshots)

    def broken(*args):
        raise ValueError("no such node")

    monkeypatch.setattr(gpu_use, "gpus_with_idle", broken)
    use = host.make(loaded)
    await _run_until_done(use, use.arrived(None))
    assert host.reports == ["GPU map: no such node"]
    assert len(host.drawn) == 1 and use.idle is None
    use.close()


async def test_a_recheck_does_not_wait_out_the_gap(host_snapshots) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots, pct=3)
    host = Host(snapshots)
    use = host.make(loaded, min_gap_s=3600)
    await _run_until_done(use, use.arrived(None))
    assert use.arrived(snapshots["slurm"], at_once=True) is True
    await asyncio.wait_for(use.run(), 5)  # would sleep an hour without at_once
    assert use.builds == 2
    use.close()


async def test_a_fetch_with_the_same_data_is_drawn_but_builds_no_map(host_snapshots, monkeypatch) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots, pct=3)
    host = Host(snapshots)
    use = host.make(loaded, min_gap_s=0)
    await _run_until_done(use, use.arrived(None))
    assert use.builds == 1
    # The hub found the same data again: new snapshots (fresh fetch time) with the same items and sections.
    same = {name: snap.evolve(version=snap.version + 1) for name, snap in snapshots.items()}
    host.snapshots = same
    drawn = len(host.drawn)
    assert [use.arrived(same[name]) for name in ("gpus", "vms", "slurm")] == [False] * 3
    assert use.builds == 1
    # the gpus one is still drawn at once, with the flag, as the very same data the table holds
    assert len(host.drawn) == drawn + 1 and host.drawn[-1].version == same["gpus"].version
    assert host.drawn[-1].sections[IDLE_SECTION] == frozenset({GPU})
    assert host.drawn[-1].sections is host.drawn[-2].sections
    # the timed recheck still builds (time moves idle durations on) ...
    assert use.arrived(None, at_once=True) is True
    await asyncio.wait_for(use.run(), 5)
    assert use.builds == 2
    # ... and a flag that came out as before is not drawn again
    assert len(host.drawn) == drawn + 2
    # new data in any snapshot the map reads builds again
    _, busy = _world(host_snapshots, pct=60)
    host.snapshots = {**same, "gpus": busy["gpus"]}
    assert use.arrived(busy["gpus"]) is True
    await asyncio.wait_for(use.run(), 5)
    assert use.builds == 3 and host.drawn[-1].sections[IDLE_SECTION] == frozenset()
    use.close()
