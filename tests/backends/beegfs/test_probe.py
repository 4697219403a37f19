"""The throughput probe against real directories: here, and on a 'node' over the real test sshd."""

from __future__ import annotations

import json
import os

import pytest

from backends.beegfs import probe, probe_script
from backends.beegfs.source import BeegfsSource
from cockpit.actions import NeedsConfirmation, local_actor

MIB = 1024 * 1024


def test_probe_script_figures_are_sane(tmp_path):
    result = probe_script.run_probe(str(tmp_path), size_mb=8, files=50)
    assert result["bytes_written"] == result["bytes_read"] == result["bytes_on_disk"] == 8 * MIB
    assert result["verified"] is True
    assert result["write_s"] > 0 and result["read_s"] > 0
    assert result["write_mb_s"] > 0 and result["read_mb_s"] > 0
    # MB/s are what the bytes and seconds say (decimal MB)
    assert result["write_mb_s"] == pytest.approx(8 * MIB / result["write_s"] / 1e6, rel=0.01)
    for key in ("create_ops_s", "stat_ops_s", "remove_ops_s"):
        assert result[key] > 0
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_probe_refuses_when_space_is_short(tmp_path):
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    too_big = int(free / MIB) + 1
    with pytest.raises(probe_script.ProbeError, match="GB free"):
        probe_script.run_probe(str(tmp_path), size_mb=too_big, files=1)
    with pytest.raises(probe_script.ProbeError, match="not a directory"):
        probe_script.run_probe(str(tmp_path / "missing"), size_mb=1, files=1)


async def test_local_probe_records_history(tmp_path):
    history = tmp_path / "history.jsonl"
    (tmp_path / "data").mkdir()
    record = await probe.run_probe(path=str(tmp_path / "data"), size_mb=4, files=20, target_mb_s=1e9,
                                   history=history)
    assert record["nodes"][0]["node"] == "local" and record["errors"] == []
    assert record["write_mb_s"] > 0 and record["read_mb_s"] > 0
    assert record["meets_target"] is False  # nobody writes 10^15 B/s
    second = await probe.run_probe(path=str(tmp_path / "data"), size_mb=1, files=5, target_mb_s=0.001, history=history)
    assert second["meets_target"] is True
    assert [h["id"] for h in probe.load_history(path=history)] == [record["id"], second["id"]]
    assert probe.last_probe(history)["id"] == second["id"]
    with open(history, "a") as f:
        f.write('{"torn": ')  # a crash mid-write must not hide the history
    assert probe.last_probe(history)["id"] == second["id"]


def test_aggregate_over_parallel_nodes():
    node = {"verified": True, "bytes_written": 100e6, "bytes_read": 100e6, "write_s": 0.5, "read_s": 0.25,
            "create_ops_s": 10.0, "stat_ops_s": 20.0, "remove_ops_s": 30.0}
    record = probe.aggregate([node, {**node, "write_s": 1.0}], [], path="/p", size_mb=1, files=1, target_mb_s=150,
                             started_at="t")
    assert record["write_mb_s"] == 200.0  # 200 MB over the slowest node's 1 s
    assert record["read_mb_s"] == 800.0
    assert record["create_ops_s"] == 20.0
    assert record["meets_target"] is True
    failed = probe.aggregate([], ["n1: boom"], path="/p", size_mb=1, files=1, target_mb_s=1, started_at="t")
    assert failed["write_mb_s"] is None and failed["meets_target"] is False


async def test_probe_over_ssh_in_parallel(beegfs_lab, tmp_path):
    target_dir = tmp_path / "shared"
    target_dir.mkdir()
    os.chmod(tmp_path, 0o755)
    source = BeegfsSource(beegfs_lab.settings("v7-good"))
    history = tmp_path / "h.jsonl"
    node = beegfs_lab.ip("probe-node")
    try:
        record = await probe.run_probe(path=str(target_dir), size_mb=4, files=20, target_mb_s=1000,
                                       nodes=[node, node, "127.0.1.99"], pool=source.pool,
                                       target_for=source.target_for, timeout=120, history=history)
    finally:
        await source.close()
    assert [n["node"] for n in record["nodes"]] == [node, node]
    assert all(n["verified"] and n["bytes_read"] == 4 * MIB for n in record["nodes"])
    assert len(record["errors"]) == 1 and record["errors"][0].startswith("127.0.1.99: ssh")
    assert record["write_mb_s"] > 0 and record["meets_target"] is False  # a node failed
    assert list(target_dir.iterdir()) == []
    assert json.loads(history.read_text().splitlines()[-1])["id"] == record["id"]


async def test_probe_action_needs_confirmation_and_is_audited(tmp_path, demo_loaded):
    from cockpit.runtime import build_runtime

    runtime = build_runtime(demo_loaded, sources=("storage",), audit_path=tmp_path / "audit.jsonl")
    try:
        params = {"path": str(tmp_path), "size_mb": 2, "files": 10, "target_mb_s": 0.01}
        with pytest.raises(NeedsConfirmation, match=r"write 2 MiB with fdatasync .* under " + str(tmp_path)):
            await runtime.dispatcher.invoke("storage.probe", params, actor=local_actor())
        result = await runtime.invoke("storage.probe", params)
        assert result.ok, result.error
        assert result.result["meets_target"] is True and result.result["nodes"][0]["verified"]
        # the storage source (unconfigured here) still finds it as last_probe in the state dir
        assert probe.last_probe()["id"] == result.result["id"]
        bad = await runtime.invoke("storage.probe", {"path": str(tmp_path / "nope"), "size_mb": 1, "files": 1})
        assert not bad.ok and "not a directory" in bad.error
        nodes = await runtime.invoke("storage.probe", {"path": str(tmp_path), "nodes": ["n1"]})
        assert not nodes.ok and "needs cockpit.beegfs" in nodes.error
    finally:
        await runtime.close()
    events = [json.loads(line)["event"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events.count("action.start") == 3 and events.count("action.end") == 3
