"""The storage verdict rules, one at a time (pure functions, no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from backends.beegfs.models import ClientMount, ServiceState, StorageNode, StorageTarget
from backends.beegfs.parsers import HealthLine
from cockpit import storage_health as h

TB = 10**12
NODES = [StorageNode(id="management:1", num_id=1, type="management", name="mgmt01", reachable=True),
         StorageNode(id="meta:1", num_id=1, type="meta", name="meta01", reachable=True),
         StorageNode(id="storage:1", num_id=1, type="storage", name="stor01", reachable=True)]


def target(i=101, **kw):
    base = dict(id=i, type="storage", node="stor01", reachability="Online", consistency="Good",
                total_bytes=10 * TB, free_bytes=8 * TB, total_inodes=1000, free_inodes=900)
    return StorageTarget(**{**base, **kw})


def test_all_good_is_ok_with_a_summary():
    v = h.verdict(nodes=NODES, targets=[target()])
    assert v.status == "ok" and v.reasons == ()
    assert v.summary == "healthy: 3 servers, 1 storage targets, 20% used"


def test_reachability_and_consistency_levels():
    cases = {("Offline", "Good"): "critical", ("Probably-offline", "Good"): "degraded",
             ("Online", "Needs-resync"): "degraded", ("Online", "resyncing"): "degraded",
             ("Online", "Bad"): "critical", (None, None): "degraded"}
    for (reach, cons), status in cases.items():
        assert h.verdict(nodes=NODES, targets=[target(reachability=reach, consistency=cons)]).status == status, (reach, cons)


def test_capacity_and_inode_thresholds():
    limits = h.Thresholds(capacity_warn=80, capacity_critical=90, inode_warn=50, inode_critical=99)
    warn = h.verdict(nodes=NODES, targets=[target(free_bytes=1.5 * TB)], limits=limits)
    assert warn.status == "degraded" and "space 85.0% used (limit 80%)" in warn.reasons[0].message
    crit = h.verdict(nodes=NODES, targets=[target(free_bytes=0.5 * TB)], limits=limits)
    assert crit.status == "critical"
    inodes = h.verdict(nodes=NODES, targets=[target(free_inodes=400)], limits=limits)
    assert inodes.status == "degraded" and "inodes 60.0% used" in inodes.reasons[0].message
    unknown = h.verdict(nodes=NODES, targets=[target(total_bytes=0, free_bytes=0, total_inodes=0, free_inodes=0)])
    assert unknown.status == "ok"  # no capacity figures: no capacity verdict


def test_missing_or_unreachable_servers():
    v = h.verdict(nodes=NODES[1:], targets=[target()])
    assert v.status == "critical" and v.reasons[0].message == "no management node is registered"
    down = [*NODES[:2], NODES[2].model_copy(update={"reachable": False})]
    assert "storage node stor01 is unreachable" in h.verdict(nodes=down, targets=[target()]).summary
    client_down = NODES + [StorageNode(id="client:3", num_id=3, type="client", name="c1", reachable=False)]
    assert h.verdict(nodes=client_down, targets=[target()]).status == "ok"  # clients are judged by their mounts
    assert h.verdict(nodes=NODES, targets=[]).reasons[0].message == "no storage target is registered"


def test_mounts_services_tool_health_and_problems():
    mounts = [ClientMount(host="c1", mount_point="/mnt/beegfs", mounted=False),
              ClientMount(host="c2", mount_point="/mnt/beegfs", mounted=True, fstype="beegfs")]
    v = h.verdict(nodes=NODES, targets=[target()], mounts=mounts)
    assert v.status == "degraded" and [r.subject for r in v.reasons] == ["client c1"]
    services = [ServiceState(host="m", unit="beegfs-mgmtd", active="failed", sub="failed"),
                ServiceState(host="c1", unit="beegfs-helperd", active="inactive")]
    s = h.verdict(nodes=NODES, targets=[target()], services=services)
    assert s.status == "critical" and [r.severity for r in s.reasons] == ["critical", "warning"]
    t = h.verdict(nodes=NODES, targets=[target()], tool_health=[HealthLine("HEALTHY", "License", "ok"),
                                                                HealthLine("DEGRADED", "Capacity", "low")])
    assert [r.message for r in t.reasons] == ["Capacity: low"]
    p = h.verdict(nodes=NODES, targets=[target()], problems=["`beegfs-df` on m exited 1: boom"])
    assert p.status == "degraded" and p.reasons[0].subject == "collection"


def test_recent_slow_probe_degrades_old_one_does_not():
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    slow = {"finished_at": (now - timedelta(hours=1)).isoformat(), "write_mb_s": 420.0}
    v = h.verdict(nodes=NODES, targets=[target()], last_probe=slow, now=now)
    assert v.status == "degraded" and "420 MB/s, below the 1000 MB/s target" in v.reasons[0].message
    old = {**slow, "finished_at": (now - timedelta(days=3)).isoformat()}
    assert h.verdict(nodes=NODES, targets=[target()], last_probe=old, now=now).status == "ok"
    fast = {**slow, "write_mb_s": 2400.0}
    assert h.verdict(nodes=NODES, targets=[target()], last_probe=fast, now=now).status == "ok"
    failed = {**slow, "write_mb_s": None}
    assert h.verdict(nodes=NODES, targets=[target()], last_probe=failed, now=now).status == "ok"


def test_capacity_pools_drive_the_verdict_and_name_target_and_node():
    low = h.verdict(nodes=NODES, targets=[target(capacity_pool="low")])
    assert low.status == "degraded"
    assert [r.message for r in low.reasons] == ["target 101 on stor01 is in the low capacity pool"]
    emergency = h.verdict(nodes=NODES, targets=[target(), target(102, capacity_pool="emergency")])
    assert emergency.status == "critical"
    assert emergency.reasons[0].subject == "target storage:102"
    assert emergency.summary.startswith("critical: target 102 on stor01 is in the emergency capacity pool")
    # only a node id known (beegfs-ctl without --longnodes): the id names the node
    by_id = h.verdict(nodes=NODES, targets=[target(node=None, node_id=2, capacity_pool="low")])
    assert by_id.reasons[0].message == "target 101 on node 2 is in the low capacity pool"
    assert h.verdict(nodes=NODES, targets=[target(capacity_pool="normal")]).status == "ok"
    assert h.verdict(nodes=NODES, targets=[target(capacity_pool=None)]).status == "ok"  # pool not printed


def test_bad_consistency_beats_a_low_pool_and_reasons_list_critical_first():
    v = h.verdict(nodes=NODES, targets=[target(capacity_pool="low"), target(102, consistency="Bad")])
    assert v.status == "critical"
    assert [r.severity for r in v.reasons] == ["critical", "warning"]
