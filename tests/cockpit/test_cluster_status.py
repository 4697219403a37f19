"""`cockpit status`: one line per cluster, decided from real snapshot items: the demo host on
libvirt's test driver (the embedded config's VMs, with `clusters:` naming them), SLURM nodes
parsed from recorded slurmrestd replies (tests/fixtures/slurm)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from backends.slurm.parse import parse_nodes
from cockpit import cluster_status as cs
from cockpit import oneshot
from cockpit.cli import main
from cockpit.config import parse_config
from cockpit.paths import PROVISIONING_DIR
from cockpit.snapshot import Snapshot, Status
from cockpit.storage_health import Verdict

SLURM = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"


def clusters_doc(uri: str) -> dict:
    """The demo host's VMs (provisioning/demo/workstation.xml) as the clusters of a config."""
    gpu = lambda a: {"enabled": True, "devices": [{"pci_address": a, "device_type": "gpu"}]}  # noqa: E731
    return {
        "version": "1.0",
        "cockpit": {"libvirt": {"hosts": [{"name": "workstation", "uri": uri}]}},
        "clusters": {
            "hpc": {"name": "hpc", "controller": {"cpu_cores": 2, "memory_gb": 4},
                    "compute_nodes": [{"cpu_cores": 4, "memory_gb": 8, "pcie_passthrough": gpu("0000:01:00.0")},
                                      {"cpu_cores": 4, "memory_gb": 8, "pcie_passthrough": gpu("0000:41:00.0")}]},
            "cloud": {"name": "cloud", "control_plane": {"cpu_cores": 4, "memory_gb": 8},
                      "worker_nodes": {"gpu": [{"cpu_cores": 4, "memory_gb": 8,
                                                "pcie_passthrough": gpu("0000:c1:00.0")}]}},
        },
    }


@pytest.fixture
def demo_clusters(demo_loaded, tmp_path):
    doc = clusters_doc(demo_loaded.config.cockpit.libvirt.hosts[0].uri)
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump(doc))
    return parse_config(path.read_text(), str(path)), path


def test_demo_host_clusters_one_line_each(demo_clusters) -> None:
    loaded, _ = demo_clusters
    snapshots = oneshot.fetch(loaded, cs.sources_for(loaded.config), timeout=20)
    hpc, cloud = cs.statuses(loaded.config, snapshots)
    assert (hpc.kind, cloud.kind) == ("hpc", "cloud")
    # every hpc VM runs and holds its GPU; no SLURM source configured: unknown, so not healthy
    assert hpc.vms == cs.Part("ok", "3/3 running")
    assert hpc.gpus == cs.Part("ok", "2/2 assigned")
    assert hpc.scheduler == cs.Part("unknown", "SLURM controller: not configured")
    assert hpc.storage.level == "n/a"
    assert not hpc.healthy and hpc.level == "unknown"
    # cloud-gpu-worker-01 is shut off on the demo host: its GPU is not in use
    assert cloud.vms == cs.Part("degraded", "1/2 running; stopped: cloud-gpu-worker-01")
    assert cloud.gpus == cs.Part("down", "0/1 assigned")
    assert cloud.level == "down" and not cs.all_healthy([hpc, cloud])


def test_cli_json_and_exit_code(demo_clusters, capsys) -> None:
    _, path = demo_clusters
    assert main(["status", "--format", "json", "--config", str(path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["healthy"] is False
    assert [c["cluster"] for c in doc["clusters"]] == ["hpc", "cloud"]
    assert doc["clusters"][1]["vms"]["text"] == "1/2 running; stopped: cloud-gpu-worker-01"


def test_cli_table_one_line_per_cluster(demo_clusters, capsys) -> None:
    _, path = demo_clusters
    assert main(["status", "--config", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["CLUSTER", "KIND", "STATUS"]
    assert [line.split()[:3] for line in lines[1:]] == [["hpc", "hpc", "unknown"], ["cloud", "cloud", "down"]]


def test_config_without_clusters_is_invalid_input(capsys) -> None:
    demo = PROVISIONING_DIR / "samples" / "default.yaml"  # the embedded demo: no clusters: section
    assert main(["status", "--config", str(demo)]) == 2
    assert "has no clusters: section" in capsys.readouterr().err


def _slurm(fixture: str) -> Snapshot:
    nodes = parse_nodes(json.loads((SLURM / fixture).read_text()))
    return Snapshot("slurm", Status.OK, sections={"nodes": nodes})


def test_slurm_all_nodes_up_v0038() -> None:
    assert cs.slurm_part(_slurm("v0.0.38/rest_slurm_v0.0.38_nodes.json")) == cs.Part(
        "ok", "controller answering; nodes 4/4 up")


def test_slurm_drained_node_is_degraded_v0041() -> None:
    part = cs.slurm_part(_slurm("v0.0.41/nodes.json"))
    assert part.level == "degraded"
    assert part.text.startswith("controller answering; nodes 3/4 up (node4 ")


def test_slurm_controller_not_answering_is_down() -> None:
    snap = Snapshot("slurm", Status.ERROR, error="slurm_load_jobs error: Unable to contact slurm controller\nmore")
    assert cs.slurm_part(snap) == cs.Part(
        "down", "SLURM controller not answering: slurm_load_jobs error: Unable to contact slurm controller")


@pytest.mark.parametrize(("status", "level"), [("ok", "ok"), ("degraded", "degraded"), ("critical", "down")])
def test_beegfs_verdict_levels(status: str, level: str) -> None:
    snap = Snapshot("storage", Status.OK, sections={"verdict": Verdict(status=status, summary="2 targets")})
    assert cs.beegfs_part(snap, configured=True) == cs.Part(level, f"BeeGFS {status}: 2 targets")


def test_beegfs_configured_but_source_missing_is_unknown() -> None:
    snap = Snapshot("storage", Status.UNCONFIGURED)
    assert cs.beegfs_part(snap, configured=True).level == "unknown"
    assert cs.beegfs_part(snap, configured=False).level == "n/a"
