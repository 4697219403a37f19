"""Parsers on the fixture files (real formats, see their `#@` headers) and on broken input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.beegfs import parsers
from backends.beegfs.parsers import ParseError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(rel: str) -> str:
    return "".join(line for line in (FIXTURES / rel).read_text().splitlines(keepends=True) if not line.startswith("#@"))


def test_every_fixture_names_its_source():
    for path in FIXTURES.rglob("*"):
        if path.is_file() and path.suffix in (".txt", ".json"):
            assert path.read_text().startswith("#@ format: "), path


def test_listnodes_reachability():
    nodes = parsers.parse_ctl_listnodes(fixture("v7/unreachable_storage/listnodes_storage.txt"), "storage")
    assert [(n.name, n.num_id, n.reachable) for n in nodes] == [("stor01", 1, True), ("stor02", 2, False)]
    # old releases print clients without [ID: n]; --details adds lines we skip
    old = parsers.parse_ctl_listnodes("5E1-5A2B3C4D-node01\n   Ports: UDP: 8004; TCP: 0\n   Reachable: <yes>\n\n"
                                      "Number of nodes: 1\n", "client")
    assert old == [parsers.NodeRecord(type="client", name="5E1-5A2B3C4D-node01", num_id=None, reachable=True)]


def test_listtargets_states_and_long_node_ids():
    targets = parsers.parse_ctl_listtargets(fixture("v7/needs_resync/listtargets_storage.txt"), "storage")
    assert [(t.id, t.reachability, t.consistency, t.node, t.node_id) for t in targets][-1] == \
        (202, "Online", "Needs-resync", "stor02", 2)
    short = ("TargetID     Reachability  Consistency   NodeID\n========     ============  ===========   ======\n"
             "       1 Probably-offline    resyncing        7\n"
             "       2                <invalid_value>        7\n")
    a, b = parsers.parse_ctl_listtargets(short, "storage")
    assert (a.reachability, a.consistency, a.node, a.node_id) == ("Probably-offline", "resyncing", None, 7)
    assert (b.reachability, b.consistency, b.node_id) == (None, None, 7)


def test_beegfs_df_units():
    rows = {(r.type, r.id): r for r in parsers.parse_beegfs_df(fixture("v7/good/beegfs-df.txt"))}
    meta = rows[("meta", 1)]
    assert meta.total_bytes == round(438.0 * 1024**3) and meta.total_inodes == 29_200_000
    assert rows[("storage", 202)].capacity_pool == "normal"
    # later 7.x releases scale the unit (e.g. '1.8TiB', as quoted by a third-party parser; unverified)
    scaled = ("STORAGE TARGETS:\nTargetID   Cap. Pool        Total         Free    %      ITotal       IFree    %\n"
              "       1       normal      1.8TiB       1.7TiB  94%     1932.7M     1845.2M  95%\n")
    (row,) = parsers.parse_beegfs_df(scaled)
    assert row.total_bytes == round(1.8 * 1024**4) and row.free_inodes == 1_845_200_000


def test_check_servers_addresses():
    rows = parsers.parse_check_servers(fixture("v7/unreachable_storage/check-servers.txt"))
    assert [(r.type, r.name, r.reachable, r.address) for r in rows] == [
        ("management", "mgmt01", True, "10.10.0.10"), ("meta", "meta01", True, "10.10.0.11"),
        ("storage", "stor01", True, "10.10.0.21"), ("storage", "stor02", False, None)]


def test_v8_json_rows_in_every_framing():
    rows = json.loads(fixture("v8/good/target_list.json"))
    states, spaces = parsers.parse_v8_target_list(json.dumps(rows))
    ndjson_states, _ = parsers.parse_v8_target_list("\n".join(json.dumps(r) for r in rows))
    paged = json.dumps(rows[:2], indent=1) + "\n\n" + json.dumps(rows[2:]) + "\n"
    paged_states, _ = parsers.parse_v8_target_list(paged)
    assert states == ndjson_states == paged_states and len(states) == 5
    assert spaces[0].type == "meta" and spaces[0].total_bytes == 470297149440
    # the short printed id form and unit-scaled sizes (no --raw) are understood too
    row = {"ID": "s:7", "On Node": "node_storage_9", "Reachability": "Offline", "Consistency": "Bad",
           "Space": "7.3TiB", "SFree": "1.0TiB", "Inodes": "745.4M", "IFree": "-"}
    (st,), (sp,) = parsers.parse_v8_target_list(json.dumps([row]))
    assert (st.type, st.id, st.node, st.reachability) == ("storage", 7, "node_storage_9", "Offline")
    assert sp.total_bytes == round(7.3 * 1024**4) and sp.total_inodes == 745_400_000 and sp.free_inodes is None


def test_v8_nodes_and_health():
    nodes = parsers.parse_v8_node_list(fixture("v8/good/node_list.json"))
    assert [(n.type, n.num_id, n.address, n.reachable) for n in nodes][:2] == [
        ("management", 1, "10.10.0.10", True), ("meta", 1, "10.10.0.11", True)]
    lines = parsers.parse_v8_health(fixture("v8/degraded/health_check.txt"))
    assert [(h.status, h.check) for h in lines if h.status != "HEALTHY"] == [
        ("DEGRADED", "Reachability"), ("CRITICAL", "Consistency")]
    assert parsers.parse_v8_health("🛑 Capacity -> Target 5 is full")[0].status == "CRITICAL"


def test_proc_mounts_and_systemctl():
    mounts = parsers.parse_proc_mounts(fixture("clients/mounted/proc_mounts.txt") + "x /mnt/with\\040space ext4 rw 0 0\n")
    assert ("/mnt/beegfs", "beegfs") in [(m.mount_point, m.fstype) for m in mounts]
    assert mounts[-1].mount_point == "/mnt/with space"
    units = parsers.parse_systemctl_show(fixture("v7/good/systemctl_show.txt"))
    assert [(u.unit, u.load, u.active) for u in units][-1] == ("beegfs-storage.service", "not-found", "inactive")


@pytest.mark.parametrize("call, text, expected", [
    (lambda t: parsers.parse_ctl_listnodes(t, "meta"), "<html>502</html>\n", r"listnodes --nodetype=meta.* line 1"),
    (lambda t: parsers.parse_ctl_listnodes(t, "meta"), "meta01 [ID: 1]\n   Reachable: maybe\n", "<yes> or <no>"),
    (lambda t: parsers.parse_ctl_listtargets(t, "storage"), "", "no header line"),
    (lambda t: parsers.parse_ctl_listtargets(t, "storage"),
     "TargetID Reachability Consistency NodeID\n     101   Online   Weird   1\n", "unknown consistency 'Weird'"),
    (parsers.parse_beegfs_df, "STORAGE TARGETS:\n     101      normal    lots   few\n", r"beegfs-df` output line 2"),
    (parsers.parse_beegfs_df, "hello\n", "row before"),
    (parsers.parse_check_servers, "Storage\n==========\nstor01 is fine\n", "reachable at"),
    (parsers.parse_v8_target_list, '[{"id": "s:1", "reachability": "Online"', "invalid JSON"),
    (parsers.parse_v8_target_list, '[{"id": "x:1"}]', "row 1: not a BeeGFS id"),
    (parsers.parse_v8_target_list, '[{"id": "m:1", "space": "lots"}]', "not a byte size"),
    (parsers.parse_v8_node_list, '[1, 2]', "expected JSON objects"),
    (parsers.parse_proc_mounts, "garbage\n", "/proc/mounts"),
    (parsers.parse_systemctl_show, "not a key value line\n", "KEY=value"),
])
def test_bad_input_raises_a_parse_error_naming_the_command(call, text, expected):
    with pytest.raises(ParseError, match=expected):
        call(text)
