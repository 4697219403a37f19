"""`:status` opens the clusters screen: one line per cluster of the config, from the hub's
snapshots (the static VMs of tests/screens/conftest.py, named by a clusters: section)."""

from __future__ import annotations

import io

import yaml
from rich.console import Console
from textual.widgets import Static

from cockpit.config import parse_config
from screens.app import CockpitApp
from screens.cluster_status import ClusterStatusScreen

from .conftest import static_runtime

CLUSTERS = {
    "version": "1.0",
    "clusters": {
        "hpc": {"name": "hpc", "controller": {"cpu_cores": 4, "memory_gb": 8},
                "compute_nodes": [{"cpu_cores": 8, "memory_gb": 16, "pcie_passthrough": {
                    "enabled": True, "devices": [{"pci_address": "0000:01:00.0", "device_type": "gpu"}]}}]},
        "cloud": {"name": "cloud", "control_plane": {"cpu_cores": 4, "memory_gb": 8},
                  "worker_nodes": {"gpu": [{"cpu_cores": 8, "memory_gb": 16, "pcie_passthrough": {
                      "enabled": True, "devices": [{"pci_address": "0000:01:00.0", "device_type": "gpu"}]}}]}},
    },
}


async def test_status_command_opens_one_line_per_cluster(tmp_path):
    loaded = parse_config(yaml.safe_dump(CLUSTERS), "clusters.yaml")
    app = CockpitApp(static_runtime(tmp_path, loaded))
    async with app.run_test(size=(200, 40)) as pilot:
        for _ in range(3):
            await pilot.pause(0.05)
        app.run_command("status")
        await pilot.pause(0.05)
        assert isinstance(app.screen, ClusterStatusScreen)
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(app.screen.table)
        text = console.export_text()
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines[0].split()[:3] == ["CLUSTER", "KIND", "STATUS"]
        assert lines[1].split()[:5] == ["hpc", "hpc", "unknown", "2/2", "running"]
        # cloud-control-plane is not defined; the worker's GPU is held by hpc-compute-01
        assert "cloud" in lines[2] and "not defined: cloud-control-plane" in text
        assert "0000:01:00.0 held by hpc-compute-01" in text
        verdict = str(app.screen.query_one("#verdict", Static).render())
        assert verdict.startswith("not healthy: hpc unknown, cloud down")
        await pilot.press("escape")
        assert app.screen is app.dashboard
