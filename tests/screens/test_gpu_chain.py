"""The GPU map modal (`m` on a GPU row): the chain for the selected GPU, in words, from the same
snapshots as the one-shot JSON (test-driver host + recorded SLURM queue + tagged runs)."""

from __future__ import annotations

from types import SimpleNamespace

from textual.widgets import Static

from cockpit.gpu_map import build_gpu_map, vm_places
from screens.gpu_chain import GpuChainScreen, chain_text
from screens.render import gpus as gpu_render
from tests.cockpit.test_gpu_map import host_snapshots, run, slurm_snapshot, snap  # noqa: F401
from tests.screens.host_app import Host


def test_m_is_a_gpu_row_key() -> None:
    assert ("m", "screens.gpu_chain:GpuChainScreen") in [(k, s) for k, s, _ in gpu_render.ROW_SCREENS]


async def test_modal_shows_vm_node_job_and_run(host_snapshots) -> None:  # noqa: F811
    loaded, snapshots = host_snapshots
    snapshots = {**snapshots, "slurm": slurm_snapshot(), "mlflow": snap("mlflow", [run("r-job4", slurm_job_id="4")])}
    gmap = build_gpu_map(snapshots, vm_places(loaded.config))
    text = chain_text(gmap, "workstation/0000:01:00.0", snapshots)
    lines = text.splitlines()
    assert lines[0] == "GPU 0000:01:00.0"
    assert "passed_to" in lines[1] and "VM hpc-node1 (running)" in lines[1]
    assert "is_node" in lines[2] and "SLURM node node1" in lines[2]
    assert "allocated_to" in lines[3] and "SLURM job 4" in lines[3] and "GRES index 0 on node1" in lines[3]
    assert "logs_to" in lines[4] and "MLflow run r-job4" in lines[4]
    assert lines[-1].startswith("use") and "allocated" in lines[-1] and "no reading" in lines[-1]
    assert "not passed to any VM" in chain_text(gmap, "workstation/0000:81:00.0", snapshots)

    runtime = SimpleNamespace(hub=SimpleNamespace(snapshots=lambda: snapshots), config=loaded.config)
    item = snapshots["gpus"].items["workstation/0000:01:00.0"]
    screen = GpuChainScreen(runtime, item)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        shown = str(screen.query_one("#chain", Static).render())
        assert shown.startswith(text + "\n\njump to:\n  1  VM hpc-node1 (running)")
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert not isinstance(pilot.app.screen, GpuChainScreen)
