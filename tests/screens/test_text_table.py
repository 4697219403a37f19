"""The one-shot table shows a source's items, its summary line and its section tables."""

from __future__ import annotations

from backends.slurm.models import Node
from cockpit.snapshot import Snapshot, Status, utcnow
from screens.text_table import render_snapshots


def test_slurm_nodes_section_and_unconfigured_hint_are_printed():
    nodes = [Node(name="node1", state="IDLE", state_label="idle", cpus=2, gpus=2, gpus_used=1),
             Node(name="node2", state="DRAIN", state_label="drained", cpus=2, gpus=2, gpus_used=0, reason="fan")]
    snaps = {
        "slurm": Snapshot(source="slurm", status=Status.OK, fetched_at=utcnow(), items={}, sections={"nodes": nodes}),
        "storage": Snapshot.unconfigured("storage", "set cockpit.beegfs.management_host"),
    }
    text = render_snapshots(snaps)
    assert "== slurm: ok, 0 items" in text and "(no items)" in text
    assert "-- slurm nodes" in text
    node2 = next(line for line in text.splitlines() if line.startswith("node2"))
    assert "drained" in node2 and "fan" in node2 and "0/2" in node2
    assert "== storage: unconfigured: set cockpit.beegfs.management_host" in text
