"""The GPU map key on VM, SLURM job and MLflow run rows, and the modal's jump keys, in the running
app: the demo host on the libvirt test driver (VMs renamed after the recorded lab's nodes), SLURM
jobs and nodes parsed from real recorded squeue/scontrol output, and a run tagged with a job id."""

from __future__ import annotations

from datetime import timedelta

from cockpit.audit import AuditLog
from cockpit.gpu_map import Ref, build_gpu_map, vm_places
from cockpit.hub import Collector, Hub, Timing, UnconfiguredSource
from cockpit.ops import default_registry
from cockpit.runtime import CockpitRuntime
from cockpit.snapshot import FetchResult
from screens.app import CockpitApp
from screens.gpu_chain import GpuChainScreen, JobChainScreen, RunChainScreen, VmChainScreen, chain_text_through
from screens.render import kubernetes as kube_render
from screens.render import mlflow as mlflow_render
from screens.render import slurm as slurm_render
from screens.render import vms as vm_render
from tests.cockpit.test_gpu_map import host_snapshots, run, slurm_snapshot, snap  # noqa: F401

GPU = "workstation/0000:01:00.0"


class SnapshotSource:
    """Serves one fixed snapshot's items and sections (the hub fetches it like any source)."""

    def __init__(self, snapshot) -> None:
        self.name = snapshot.source
        self.snapshot = snapshot

    async def fetch(self):
        return FetchResult.of(list(self.snapshot.items.values()), **dict(self.snapshot.sections))


def test_chain_key_on_vm_job_pod_and_run_rows() -> None:
    assert ("m", "screens.gpu_chain:VmChainScreen") in [(k, s) for k, s, _ in vm_render.ROW_SCREENS]
    assert ("m", "screens.gpu_chain:JobChainScreen") in [(k, s) for k, s, _ in slurm_render.ROW_SCREENS]
    assert ("m", "screens.gpu_chain:PodChainScreen") in [(k, s) for k, s, _ in kube_render.ROW_SCREENS]
    # On the MLflow pane `m` is the model registry: the run's map key must not shadow it.
    run_keys = [k for k, _s, _ in mlflow_render.ROW_SCREENS]
    assert run_keys == ["G"] and "m" in [k for k, _, _ in mlflow_render.PANE_SCREENS]


def _world(host_snapshots):
    loaded, snapshots = host_snapshots
    return loaded, {**snapshots, "slurm": slurm_snapshot(), "mlflow": snap("mlflow", [run("r-job4", slurm_job_id="4")])}


async def test_chain_through_a_job_and_a_run(host_snapshots) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots)
    gmap = build_gpu_map(snapshots, vm_places(loaded.config))
    job_key = next(lk.dst.key for lk in gmap.chain(GPU) if lk.relation == "allocated_to")
    text = chain_text_through(gmap, Ref("slurm", job_key), snapshots).splitlines()
    assert text[0].startswith("SLURM job 4")
    # Job 4 of the recorded lab holds a GPU on node1 and one on node2: both chains, in chain order.
    assert [ln.split()[0] for ln in text[1:]] == ["passed_to"] * 2 + ["is_node"] * 2 + ["allocated_to"] * 2 + ["logs_to"]
    assert "GPU 0000:01:00.0 on workstation -> VM hpc-node1 (running)" in text[1]
    assert "GPU 0000:41:00.0 on workstation -> VM hpc-node2 (running)" in text[2]
    assert "MLflow run r-job4" in text[-1]
    # A run reaches back to the same chain; a VM with no GPU (the controller) is on none.
    through_run = gmap.chain_through(Ref("mlflow", "r-job4"))
    assert [lk.relation for lk in through_run] == ["passed_to"] * 2 + ["is_node"] * 2 + ["allocated_to"] * 2 + ["logs_to"]
    controller = next(k for k, v in snapshots["vms"].items.items() if v.name == "hpc-controller")
    assert "on no GPU chain" in chain_text_through(gmap, Ref("vms", controller), snapshots)


def app_over(loaded, snapshots, tmp_path) -> CockpitApp:
    """The cockpit over fixed snapshots of vms, gpus, slurm and mlflow (storage, kubernetes off)."""
    sources = [SnapshotSource(snapshots[name]) for name in ("vms", "gpus", "slurm", "mlflow")]
    sources += [UnconfiguredSource("storage", "not here"), UnconfiguredSource("kubernetes", "not here")]
    hub = Hub([Collector(s, Timing(interval=3600, min_interval=0, backoff_base=3600)) for s in sources])
    runtime = CockpitRuntime(loaded=loaded, hub=hub, registry=default_registry(), audit=AuditLog(tmp_path / "a.jsonl"))
    return CockpitApp(runtime)


async def settle(pilot, times: int = 4) -> None:
    for _ in range(times):
        await pilot.pause(0.05)


async def until(pilot, condition, timeout: float = 10.0) -> None:
    """Wait for what a worker thread builds (the GPU map, screens/gpu_use.py): on a loaded
    machine it can take longer than a few frames."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the screen"
        await pilot.pause(0.05)


async def test_m_on_a_vm_then_jump_to_its_job_then_back_to_the_gpu(tmp_path, host_snapshots) -> None:  # noqa: F811
    loaded, snapshots = _world(host_snapshots)
    gmap = build_gpu_map(snapshots, vm_places(loaded.config))
    job_key = next(lk.dst.key for lk in gmap.chain(GPU) if lk.relation == "allocated_to")
    vm_key = next(k for k, v in snapshots["vms"].items.items() if v.name == "hpc-node1")
    app = app_over(loaded, snapshots, tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        vms = app.dashboard.pane("vms").table("vms")
        vms.focus()
        assert vms.select_key(vm_key) and not vms.select_key("no-such-vm")
        await pilot.press("m")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, VmChainScreen)
        targets = modal.targets
        assert Ref("slurm", job_key) in targets and Ref("gpus", GPU) in targets
        await pilot.press(str(targets.index(Ref("slurm", job_key)) + 1))
        await settle(pilot)
        jobs = app.dashboard.pane("slurm").table("slurm")
        assert app.screen is app.dashboard and app.dashboard.focused is jobs
        assert jobs.selected_key() == job_key

        await pilot.press("m")  # the chain through the job, and on to the GPU
        await settle(pilot)
        assert isinstance(app.screen, JobChainScreen)
        await pilot.press(str(app.screen.targets.index(Ref("gpus", GPU)) + 1))
        await settle(pilot)
        gpus = app.dashboard.pane("vms").table("gpus")
        assert app.dashboard.focused is gpus and gpus.selected_key() == GPU

        app.action_focus_pane("mlflow")  # G on the run: back to its job
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        assert isinstance(app.screen, RunChainScreen)
        assert isinstance(app.screen, GpuChainScreen)
        await pilot.press(str(app.screen.targets.index(Ref("slurm", job_key)) + 1))
        await settle(pilot)
        assert app.dashboard.focused is jobs and jobs.selected_key() == job_key

        await pilot.press("m")  # and to the SLURM node, a row of the pane's nodes table
        await settle(pilot)
        await pilot.press(str(app.screen.targets.index(Ref("slurm", "node2", "nodes")) + 1))
        await settle(pilot)
        nodes = app.dashboard.pane("slurm").table("slurm", "nodes")
        assert app.dashboard.focused is nodes and nodes.selected_key() == "node2"


async def test_gpu_table_flags_allocated_but_idle_gpus(tmp_path, host_snapshots) -> None:  # noqa: F811
    from backends.gpus.models import NvmlReading

    loaded, snapshots = _world(host_snapshots)
    gpus = dict(snapshots["gpus"].items)
    busy = "workstation/0000:41:00.0"
    for key, pct in ((GPU, 3), (busy, 60)):
        gpus[key] = gpus[key].model_copy(update={"nvml": NvmlReading(utilization_pct=pct, source="guest-nvidia-smi")})
    snapshots = {**snapshots, "gpus": snapshots["gpus"].evolve(items=gpus)}
    app = app_over(loaded, snapshots, tmp_path)
    async with app.run_test(size=(200, 55)) as pilot:
        await until(pilot, lambda: GPU in app.idle_clock.durations(app.view_now().timestamp()))
        later = app.view_now() + timedelta(minutes=11)  # the default flag needs 10 minutes
        app.view_now = lambda: later  # type: ignore[method-assign]
        app._recheck_idle()
        table = app.dashboard.pane("vms").table("gpus")
        await until(pilot, lambda: "IDLE" in table.titles)
        column = list(table.titles).index("IDLE")
        assert table.cells[GPU][column] == "idle 11m"  # held by job 4, at 3%, for 11 minutes
        assert table.cells[busy][column] == "-"  # held by job 4, at 60%
        assert column in table.shown  # not cut from the pane at this size
        cells = {key: table.cells[key][column] for key in table.keys}
        assert sorted(v for v in cells.values() if v.startswith("idle")) == ["idle 11m"]


async def test_an_idle_gpu_is_flagged_only_after_idle_for_min(tmp_path, host_snapshots) -> None:  # noqa: F811
    """The same world, but the clock starts with the screen: at 3% the GPU is not flagged yet;
    once the screen's moment is 10 minutes on, the periodic re-check flags it."""
    from backends.gpus.models import NvmlReading

    loaded, snapshots = _world(host_snapshots)
    gpus = dict(snapshots["gpus"].items)
    gpus[GPU] = gpus[GPU].model_copy(update={"nvml": NvmlReading(utilization_pct=3, source="guest-nvidia-smi")})
    snapshots = {**snapshots, "gpus": snapshots["gpus"].evolve(items=gpus)}
    app = app_over(loaded, snapshots, tmp_path)
    async with app.run_test(size=(200, 55)) as pilot:
        await until(pilot, lambda: GPU in app.idle_clock.durations(app.view_now().timestamp()))
        table = app.dashboard.pane("vms").table("gpus")
        assert "IDLE" not in table.titles
        assert list(app.idle_clock.durations(app.view_now().timestamp())) == [GPU]
        later = app.view_now() + timedelta(minutes=10, seconds=5)
        app.view_now = lambda: later  # type: ignore[method-assign]
        app._recheck_idle()
        await until(pilot, lambda: "IDLE" in table.titles)
        assert table.cells[GPU][list(table.titles).index("IDLE")] == "idle 10m"
