"""The storage source end to end: real sshd, real asyncssh pool, stub BeeGFS tools printing the
tools' real formats (see conftest.py and the fixtures' `#@` headers). BeeGFS itself cannot run
on the test machine; these tests check what the cockpit makes of the tools' answers."""

from __future__ import annotations

import pytest

from backends.beegfs.source import BeegfsSource
from cockpit.hub import Collector, Timing
from cockpit.snapshot import Status

DEAD_HOST = "127.0.1.99"  # nothing listens there (conftest.DEAD_HOST)

GIB = 1024**3


async def fetch(lab, management, clients=(), **extra):
    source = BeegfsSource(lab.settings(management, clients, **extra))
    try:
        return await source.fetch()
    finally:
        await source.close()


def messages(result) -> str:
    return "\n".join(r.message for r in result.sections["verdict"].reasons)


async def test_v7_all_good(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-good", clients=("client-mounted",))
    verdict = result.sections["verdict"]
    assert verdict.status == "ok", messages(result)
    assert result.sections["tool"] == "beegfs-ctl"
    targets = result.items
    assert sorted(targets) == ["meta:1", "storage:101", "storage:102", "storage:201", "storage:202"]
    t101 = targets["storage:101"]
    assert (t101.node, t101.node_id, t101.reachability, t101.consistency) == ("stor01", 1, "Online", "Good")
    # beegfs-df prints GiB with one decimal: bytes are exact to 0.05 GiB
    assert abs(t101.total_bytes - 7448.1 * GIB) < 0.05 * GIB
    assert abs(t101.free_bytes - 6103.2 * GIB) < 0.05 * GIB
    assert t101.total_inodes == 745_400_000 and t101.free_inodes == 744_100_000
    assert t101.used_percent == pytest.approx(18.1, abs=0.1)
    nodes = {n.id: n for n in result.sections["nodes"]}
    assert nodes["management:1"].name == "mgmt01" and nodes["management:1"].host == "10.10.0.10"
    assert nodes["storage:2"].reachable is True and nodes["storage:2"].host == "10.10.0.22"
    assert {n.type for n in nodes.values()} == {"management", "meta", "storage", "client"}
    (mount,) = result.sections["mounts"]
    assert mount.mounted and mount.fstype == "beegfs" and mount.host == beegfs_lab.ip("client-mounted")
    services = {s.key(): s.active for s in result.sections["services"]}
    assert services[f"{beegfs_lab.ip('v7-good')}:beegfs-mgmtd"] == "active"
    assert f"{beegfs_lab.ip('v7-good')}:beegfs-storage" not in services  # LoadState=not-found: not installed
    assert services[f"{beegfs_lab.ip('client-mounted')}:beegfs-client"] == "active"


async def test_unreachable_storage_node_is_critical(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-unreachable-storage")
    verdict = result.sections["verdict"]
    assert verdict.status == "critical"
    text = messages(result)
    assert "storage node stor02 is unreachable" in text
    assert "target 201 on stor02 is offline" in text and "target 202 on stor02 is offline" in text
    nodes = {n.id: n for n in result.sections["nodes"]}
    assert nodes["storage:2"].reachable is False and nodes["storage:1"].reachable is True
    # the unreachable server's targets report zeros in beegfs-df: no fake 'empty' figure
    assert result.items["storage:201"].used_percent is None
    assert verdict.summary.startswith("critical: ")


async def test_target_needing_resync_degrades(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-needs-resync")
    assert result.sections["verdict"].status == "degraded"
    assert result.items["storage:202"].consistency == "Needs-resync"
    assert "target 202 on stor02 needs a resync" in messages(result)
    assert {r.subject for r in result.sections["verdict"].reasons} == {"target storage:202"}


async def test_full_target_is_critical(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-full-target")
    t = result.items["storage:102"]
    assert t.used_percent == pytest.approx(99.5, abs=0.1) and t.capacity_pool == "emergency"
    assert result.sections["verdict"].status == "critical"
    assert "target 102 on stor01 space 99.5% used (limit 95%)" in messages(result)
    assert "target 102 on stor01 is in the emergency capacity pool" in messages(result)
    # a lower threshold setting moves the others into warnings, and the reasons say so; the
    # management's emergency pool keeps 102 critical whatever our own thresholds say
    lower = await fetch(beegfs_lab, "v7-full-target", capacity_warn_percent=15, capacity_critical_percent=99.9)
    assert lower.sections["verdict"].status == "critical"
    assert "target 101 on stor01 space 18.1% used (limit 15%)" in messages(lower)
    assert [r.severity for r in lower.sections["verdict"].reasons if "102" in r.message] == ["critical", "warning"]


async def test_low_capacity_pool_degrades_and_names_target_and_node(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-low-pool")
    verdict = result.sections["verdict"]
    assert result.items["storage:201"].capacity_pool == "low" and result.items["storage:201"].used_percent < 85
    assert verdict.status == "degraded", messages(result)
    assert [r.message for r in verdict.reasons] == ["target 201 on stor02 is in the low capacity pool"]


async def test_check_servers_spellings_give_addresses(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-check-variants")
    assert result.sections["notes"] == []
    nodes = {n.id: n for n in result.sections["nodes"]}
    assert nodes["management:1"].name == "mgmt01" and nodes["storage:2"].host == "fd00::22"
    assert result.sections["verdict"].status == "ok", messages(result)


async def test_optional_commands_that_fail_or_print_nonsense_become_notes(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-optional-broken")
    notes = {n.part: n.message for n in result.sections["notes"]}
    assert set(notes) == {"capacity (beegfs-df)", "server addresses (beegfs-check-servers)"}
    assert "`beegfs-df` on 127.0.1.11 exited 1" in notes["capacity (beegfs-df)"]
    assert "libibverbs" in notes["server addresses (beegfs-check-servers)"]
    # the rest of the pane is there: states and nodes from beegfs-ctl, no capacity, no addresses
    assert result.items["storage:202"].reachability == "Online" and result.items["storage:202"].total_bytes is None
    nodes = {n.id: n for n in result.sections["nodes"]}
    assert nodes["management:1"].name == "mgmt01" and nodes["management:1"].host is None
    # notes do not change the verdict
    assert result.sections["verdict"].status == "ok", messages(result)
    # and they reach the one-shot JSON
    collector = Collector(BeegfsSource(beegfs_lab.settings("v7-optional-broken")), Timing(timeout=30))
    try:
        doc = (await collector.fetch_once()).to_json()
    finally:
        await collector.stop()
    assert doc["status"] == "ok"
    assert [n["part"] for n in doc["notes"]] == ["capacity (beegfs-df)", "server addresses (beegfs-check-servers)"]


async def test_client_without_mount(beegfs_lab):
    result = await fetch(beegfs_lab, "v7-good", clients=("client-mounted", "client-unmounted", DEAD_HOST))
    mounts = {m.host: m for m in result.sections["mounts"]}
    assert mounts[beegfs_lab.ip("client-mounted")].mounted is True
    missing = mounts[beegfs_lab.ip("client-unmounted")]
    assert missing.mounted is False and missing.error is None
    assert mounts[DEAD_HOST].mounted is False and "ssh" in mounts[DEAD_HOST].error
    verdict = result.sections["verdict"]
    assert verdict.status == "degraded"
    text = messages(result)
    assert f"/mnt/beegfs is not mounted on {beegfs_lab.ip('client-unmounted')}" in text
    assert f"beegfs-client on {beegfs_lab.ip('client-unmounted')} is failed" in text
    assert f"cannot check {DEAD_HOST}" in text


async def test_v8_all_good(beegfs_lab):
    result = await fetch(beegfs_lab, "v8-good", clients=("client-mounted",))
    assert result.sections["tool"] == "beegfs"
    assert result.sections["verdict"].status == "ok", messages(result)
    t = result.items["storage:201"]
    assert t.total_bytes == round(7448.1 * GIB) and t.free_bytes == round(6098.4 * GIB)  # --raw: exact bytes
    assert (t.node, t.alias, t.reachability, t.consistency) == ("node_storage_2", "target_storage_201", "Online", "Good")
    assert t.total_inodes == 745_400_000 and t.free_inodes == 743_900_000 and t.capacity_pool == "normal"
    nodes = {n.id: n for n in result.sections["nodes"]}
    assert nodes["management:1"].host == "10.10.0.10" and nodes["storage:2"].reachable is True
    assert nodes["meta:1"].name == "node_meta_1" and nodes["client:3"].type == "client"
    assert result.sections["notes"] == []


async def test_v8_degraded_targets_and_health_check(beegfs_lab):
    result = await fetch(beegfs_lab, "v8-degraded")
    verdict = result.sections["verdict"]
    text = messages(result)
    assert "target 201 on node_storage_2 needs a resync" in text
    assert "target 202 on node_storage_2 is probably offline" in text
    assert "Consistency: Not all mirrors are synchronized." in text  # from `beegfs health check`
    assert verdict.status == "degraded"  # beegfs-go rates Needs-resync and Probably-offline DEGRADED


async def test_v8_capacity_pools_drive_the_verdict(beegfs_lab):
    result = await fetch(beegfs_lab, "v8-low-capacity")
    verdict = result.sections["verdict"]
    assert verdict.status == "critical"
    text = messages(result)
    assert "target 202 on node_storage_2 is in the emergency capacity pool" in text
    assert "target 102 on node_storage_1 is in the low capacity pool" in text
    assert "target 202 on node_storage_2 space 95.0% used (limit 95%)" in text  # free space counts on 8 as on 7
    assert verdict.reasons[0].severity == "critical"


async def test_v8_release_without_json_output_is_read_from_its_tables(beegfs_lab):
    result = await fetch(beegfs_lab, "v8-table-only")
    assert result.sections["verdict"].status == "ok", messages(result)
    t = result.items["storage:201"]
    assert (t.node, t.capacity_pool, t.total_bytes) == ("node_storage_2", "normal", round(7448.1 * GIB))
    nodes = {n.id: n for n in result.sections["nodes"]}
    assert nodes["storage:2"].host == "10.20.0.22" and nodes["storage:2"].reachable is True


async def test_unparseable_output_is_an_error_on_the_pane(beegfs_lab):
    collector = Collector(BeegfsSource(beegfs_lab.settings("v7-garbage")), Timing(timeout=30))
    try:
        snap = await collector.fetch_once()
    finally:
        await collector.stop()
    assert snap.status is Status.ERROR
    assert "beegfs-ctl --listtargets --nodetype=storage" in snap.error
    assert "Segmentation fault" in snap.error and "line 1" in snap.error


async def test_host_without_beegfs_tools(beegfs_lab):
    with pytest.raises(RuntimeError, match=r"neither `beegfs` \(BeeGFS 8\) nor `beegfs-ctl` \(BeeGFS 7\)"):
        await fetch(beegfs_lab, "no-tools")


async def test_forced_tool_that_is_not_installed_names_the_command(beegfs_lab):
    with pytest.raises(RuntimeError, match=r"`beegfs --output json node list --reachability-check` on 127\.0\.1\.1 exited"):
        await fetch(beegfs_lab, "v7-good", tool="beegfs")


async def test_snapshot_json_contract(beegfs_lab):
    collector = Collector(BeegfsSource(beegfs_lab.settings("v7-needs-resync", ("client-mounted",))), Timing(timeout=30))
    try:
        doc = (await collector.fetch_once()).to_json()
    finally:
        await collector.stop()
    assert doc["status"] == "ok" and doc["error"] is None
    target = next(t for t in doc["items"] if t["id"] == 202)
    assert {"id", "type", "node", "reachability", "consistency", "total_bytes", "free_bytes", "total_inodes",
            "free_inodes", "used_percent", "inodes_used_percent"} <= set(target)
    assert target["consistency"] == "Needs-resync"
    assert {"id", "type", "name", "host", "reachable"} <= set(doc["nodes"][0])
    assert doc["mounts"][0]["mounted"] is True
    assert doc["verdict"]["status"] == "degraded" and doc["verdict"]["reasons"][0]["subject"] == "target storage:202"
    assert doc["tool"] == "beegfs-ctl" and doc["last_probe"] is None


async def test_one_pool_connection_per_host(beegfs_lab):
    source = BeegfsSource(beegfs_lab.settings("v7-good", ("client-mounted",)))
    try:
        await source.fetch()
        await source.fetch()
        assert source.pool.connects == 2  # management host + one client, reused by the second fetch
    finally:
        await source.close()


async def test_cockpit_snapshot_json_from_a_config_file(beegfs_lab):
    """`cockpit snapshot --format json` path: YAML config -> build_source -> hub -> JSON document."""
    import json

    from cockpit import oneshot
    from cockpit.config import parse_config

    lab = beegfs_lab
    text = f"""
cockpit:
  beegfs:
    management_host: {lab.ip('v8-good')}
    client_hosts: [{lab.ip('client-unmounted')}]
    ssh_user: {lab.user}
    ssh_port: {lab.port}
    ssh_key: {lab.client_key}
    known_hosts: {lab.known_hosts}
"""
    loaded = parse_config(text, "test.yaml")
    snaps = await oneshot.collect(loaded, sources=("storage",), timeout=60)
    doc = json.loads(oneshot.dumps(snaps))["storage"]
    assert doc["status"] == "ok", doc["error"]
    assert doc["tool"] == "beegfs" and len(doc["items"]) == 5
    assert doc["verdict"]["status"] == "degraded" and doc["notes"] == []
    assert doc["mounts"] == [{"host": lab.ip("client-unmounted"), "mount_point": "/mnt/beegfs", "mounted": False,
                              "fstype": None, "options": None, "error": None}]
