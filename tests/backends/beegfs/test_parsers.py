"""Parsers on every fixture file (real formats, see their `#@` headers and
tests/fixtures/beegfs/README.md) and on broken input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.beegfs import parsers
from backends.beegfs.parsers import ParseError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "beegfs"
GIB = 1024**3


def fixture(rel: str) -> str:
    return "".join(line for line in (FIXTURES / rel).read_text().splitlines(keepends=True) if not line.startswith("#@"))


def test_every_fixture_names_its_source():
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".txt", ".json")]
    assert len(files) > 40
    for path in files:
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
    assert parsers.parse_v8_health("🛑 Capacity -> Target 5 is full")[0].status == "CRITICAL"
    assert parsers.parse_v8_health("(DEGRADED) Consistency")[0].summary is None  # --no-hints


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


# ---- BeeGFS 7, as the tools print it -----------------------------------------------------------
def test_listtargets_long_layout_with_mirror_groups_and_space():
    """beegfs-ctl --listtargets --nodetype=storage --mirrorgroups --spaceinfo --longnodes --state"""
    states, spaces = parsers.parse_ctl_listtargets_with_space(fixture("v7/listtargets_long_storage.txt"), "storage")
    assert [(s.id, s.mirror_group, s.member_type, s.node, s.node_id) for s in states] == [
        (101, 1, "primary", "stor01", 1), (201, 1, "secondary", "stor02", 2),
        (102, 2, "primary", "stor01", 1), (202, 2, "secondary", "stor02", 2)]
    assert states[-1].consistency == "Needs-resync"
    by_id = {s.id: s for s in spaces}
    assert abs(by_id[201].free_bytes - 6098.4 * GIB) < 0.05 * GIB and by_id[201].total_inodes == 745_400_000
    # the plain parser reads the same layout (states only)
    assert parsers.parse_ctl_listtargets(fixture("v7/listtargets_long_storage.txt"), "storage") == states


def test_listtargets_every_good_fixture():
    for kind in ("meta", "storage"):
        targets = parsers.parse_ctl_listtargets(fixture(f"v7/good/listtargets_{kind}.txt"), kind)
        assert targets and all(t.reachability == "Online" and t.consistency == "Good" and t.node for t in targets)
    offline = parsers.parse_ctl_listtargets(fixture("v7/unreachable_storage/listtargets_storage.txt"), "storage")
    assert [t.id for t in offline if t.reachability == "Offline"] == [201, 202]


def test_beegfs_df_pools():
    low = {r.id: r.capacity_pool for r in parsers.parse_beegfs_df(fixture("v7/low_pool/beegfs-df.txt")) if r.type == "storage"}
    assert low == {101: "normal", 102: "normal", 201: "low", 202: "normal"}
    full = {r.id: r for r in parsers.parse_beegfs_df(fixture("v7/full_target/beegfs-df.txt"))}
    assert full[102].capacity_pool == "emergency" and abs(full[102].free_bytes - 37.2 * GIB) < 0.05 * GIB
    down = {r.id: r for r in parsers.parse_beegfs_df(fixture("v7/unreachable_storage/beegfs-df.txt"))}
    assert down[201].total_bytes == 0 and down[201].capacity_pool == "emergency"


def test_check_servers_without_space_rdma_and_ipv6_routes():
    rows = parsers.parse_check_servers(fixture("v7/check_servers_variants/check-servers.txt"))
    assert [(r.type, r.name, r.num_id, r.reachable, r.address) for r in rows] == [
        ("management", "mgmt01", 1, True, "10.10.0.10"), ("meta", "meta01", 1, True, "10.10.0.11"),
        ("storage", "stor01", 1, True, "10.10.0.21"), ("storage", "stor02", 2, True, "fd00::22")]
    good = parsers.parse_check_servers(fixture("v7/good/check-servers.txt"))
    assert [r.name for r in good] == ["mgmt01", "meta01", "stor01", "stor02"]
    with pytest.raises(ParseError, match="beegfs-check-servers.*line 3"):
        parsers.parse_check_servers(fixture("v7/check_servers_unexpected/check-servers.txt"))


def test_listnodes_every_fixture():
    assert [n.name for n in parsers.parse_ctl_listnodes(fixture("v7/good/listnodes_client.txt"), "client")] == [
        "4E1-65F2B1C0-compute-01", "2F7-65F2B1C4-compute-02"]
    assert parsers.parse_ctl_listnodes(fixture("v7/good/listnodes_meta.txt"), "meta")[0].reachable is True
    assert parsers.parse_ctl_listnodes("node07[ID: 7]\n   Reachable: <no>\n", "storage")[0].num_id == 7


# ---- BeeGFS 8, every framing and release shape ------------------------------------------------
NODE_LISTS = ["v8/good/node_list.json", "v8/table_only/node_list.json", "v8/variants/node_list.table.txt",
              "v8/variants/node_list.ndjson.txt", "v8/variants/node_list.pretty.json"]


@pytest.mark.parametrize("rel", NODE_LISTS)
def test_v8_node_list_every_form(rel):
    nodes = parsers.parse_v8_node_list(fixture(rel))
    assert [(n.type, n.num_id, n.name) for n in nodes] == [
        ("management", 1, "node_management"), ("meta", 1, "node_meta_1"), ("storage", 1, "node_storage_1"),
        ("storage", 2, "node_storage_2"), ("client", 3, "client_compute-01")]
    if "pretty" not in rel:  # json-pretty was asked without --reachability-check: no nics, no answer
        assert nodes[0].address == "10.10.0.10" and nodes[2].address == "10.20.0.21"
        assert nodes[3].reachable is ("node_list.table" not in rel and "ndjson" not in rel)
    else:
        assert nodes[0].reachable is None and nodes[0].address is None


def test_v8_node_types_are_numbers_in_json():
    row = {"id": {"num_id": 7, "node_type": 3}, "type": 3, "alias": "s7", "nics": "", "reachable": ""}
    (node,) = parsers.parse_v8_node_list(json.dumps([row]))
    assert (node.type, node.num_id) == ("storage", 7)
    remote = {"id": {"num_id": 1, "node_type": 5}, "type": 5, "alias": "remote_1"}
    assert parsers.parse_v8_node_list(json.dumps([remote])) == []  # remote/sync services are not BeeGFS servers here
    as_set = {"uid": 3, "alias": "n", "legacy_id": {"num_id": 4, "node_type": 4}}
    assert parsers.parse_v8_node_list(json.dumps([{"id": as_set, "type": 4}]))[0].type == "management"


TARGET_LISTS = {
    "v8/good/target_list.json": ("raw", None),
    "v8/low_capacity/target_list.json": ("raw", {102: "low", 202: "emergency"}),
    "v8/table_only/target_list.json": ("raw", None),
    "v8/variants/target_list.debug.json": ("raw", {102: "low", 202: "emergency"}),
    "v8/variants/target_list.table.txt": ("units", {102: "low", 202: "emergency"}),
    "v8/variants/target_list_8.0.table.txt": ("units", {102: "low", 202: "emergency"}),
    "v8/variants/target_list.ndjson.txt": ("units", None),
    "v8/variants/target_list_cap_pool_hidden.table.txt": ("units", "hidden"),
}


@pytest.mark.parametrize("rel", sorted(TARGET_LISTS))
def test_v8_target_list_every_form(rel):
    sizes, pools = TARGET_LISTS[rel]
    states, spaces = parsers.parse_v8_target_list(fixture(rel))
    assert [(s.type, s.id) for s in states] == [("meta", 1), ("storage", 101), ("storage", 102), ("storage", 201),
                                                ("storage", 202)]
    assert states[1].node == "node_storage_1" and states[1].alias == "target_storage_101"
    s101 = spaces[1]
    if sizes == "raw":
        assert s101.total_bytes == round(7448.1 * GIB) and s101.free_bytes == round(6103.2 * GIB)
        assert s101.total_inodes == 745_400_000 and s101.free_inodes == 744_100_000
    else:  # FormatPrefix with one decimal: 7.3TiB, 6.0TiB, 745.4M
        assert s101.total_bytes == round(7.3 * 1024**4) and s101.free_bytes == round(6.0 * 1024**4)
        assert s101.free_inodes == 744_100_000
    found = {s.id: s.capacity_pool for s in spaces if s.capacity_pool not in (None, "normal")}
    if pools == "hidden":
        assert all(s.capacity_pool is None for s in spaces)
    else:
        assert found == (pools or {})


def test_v8_target_states_and_legacy_id_forms():
    states, _ = parsers.parse_v8_target_list(fixture("v8/degraded/target_list.json"))
    assert {s.id: (s.reachability, s.consistency) for s in states}[201] == ("Online", "Needs-resync")
    assert {s.id: s.reachability for s in states}[202] == "Probably-offline"
    # the short printed id form and unit-scaled sizes (no --raw) are understood too
    row = {"ID": "s:7", "On Node": "node_storage_9", "Reachability": "Offline", "Consistency": "Bad",
           "Space": "7.3TiB", "SFree": "1.0TiB", "Inodes": "745.4M", "IFree": "-"}
    (st,), (sp,) = parsers.parse_v8_target_list(json.dumps([row]))
    assert (st.type, st.id, st.node, st.reachability) == ("storage", 7, "node_storage_9", "Offline")
    assert sp.total_bytes == round(7.3 * 1024**4) and sp.total_inodes == 745_400_000 and sp.free_inodes is None


@pytest.mark.parametrize("rel", ["v8/variants/health_df.table.txt", "v8/variants/health_df.json",
                                 "v8/variants/health_df_old.json"])
def test_v8_health_df_every_form(rel):
    spaces = parsers.parse_v8_health_df(fixture(rel))
    assert [(s.type, s.id, s.capacity_pool) for s in spaces] == [
        ("meta", 1, "normal"), ("storage", 101, "normal"), ("storage", 102, "low"), ("storage", 201, "normal"),
        ("storage", 202, "emergency")]
    assert abs(spaces[-1].free_bytes - 372.4 * GIB) < 0.05 * GIB


HEALTH = {
    "v8/good/health_check.txt": [],
    "v8/degraded/health_check.txt": [("DEGRADED", "Reachability"), ("DEGRADED", "Consistency")],
    "v8/low_capacity/health_check.txt": [("CRITICAL", "Available Capacity")],
    "v8/variants/health_check.json": [("CRITICAL", "Available Capacity")],
    "v8/variants/health_check.pretty.json": [("CRITICAL", "Available Capacity")],
    "v8/variants/health_check.watch.ndjson.txt": [("CRITICAL", "Available Capacity")],
    "v8/variants/health_check.emoji.txt": [("DEGRADED", "Reachability"), ("CRITICAL", "Consistency")],
    "v8/variants/health_check_8.0.txt": [("DEGRADED", "Reachability"), ("DEGRADED", "Consistency")],
}


@pytest.mark.parametrize("rel", sorted(HEALTH))
def test_v8_health_check_every_form(rel):
    lines = parsers.parse_v8_health(fixture(rel))
    assert len(lines) >= 5
    assert [(h.status, h.check) for h in lines if h.status != "HEALTHY"] == HEALTH[rel]
    report = parsers.parse_v8_health_report(fixture(rel))
    assert report.status == (max((s for s, _ in HEALTH[rel]), key=["HEALTHY", "DEGRADED", "CRITICAL"].index)
                             if HEALTH[rel] else "HEALTHY")


def test_v8_health_json_report_carries_target_capacity():
    report = parsers.parse_v8_health_report(fixture("v8/variants/health_check.pretty.json"))
    pools = {s.id: s.capacity_pool for s in report.spaces}
    assert pools[202] == "emergency" and pools[102] == "low"
    assert {s.id: s.node for s in report.states}[202] == "node_storage_2"
    assert "management service's configuration" in next(h.summary for h in report.checks if h.check == "Available Capacity")


@pytest.mark.parametrize("rel", ["v8/variants/health_net.json", "v8/variants/health_net.txt"])
def test_v8_health_net_both_forms(rel):
    (client,) = parsers.parse_v8_health_net(fixture(rel))
    assert client.client_id == "5E1-6745B3C2-compute-01" and client.mount == "/mnt/beegfs"
    assert client.uses_fallback
    by_alias = {n.alias: n for n in client.nodes}
    assert by_alias["node_storage_1"].peers[0].type == "TCP" and by_alias["node_storage_2"].peers == ()
    assert by_alias["node_meta_1"].node_type == "meta" and by_alias["node_meta_1"].peers[0].ip == "10.20.0.11"


@pytest.mark.parametrize("call, text, expected", [
    (parsers.parse_v8_node_list, "s:1  storage  node_storage_1\n", "row before any header"),
    (parsers.parse_v8_node_list, '[{"id": {"num_id": 1, "node_type": 9}, "type": 9}]', "unknown node type"),
    (parsers.parse_v8_target_list, '[{"id": {"num_id": 1, "node_type": 3}, "cap_pool": "Huge"}]', "unknown capacity pool"),
    (parsers.parse_v8_target_list, '[{"id": {"num_id": 1, "node_type": 4}}]', "neither meta nor storage"),
    (parsers.parse_v8_health_report, '{"status": "healthy"}', "not a health report"),
    (parsers.parse_v8_health_net, "node_meta_1 [ID: 1]\n", "Client ID"),
    (lambda t: parsers.parse_ctl_listtargets(t, "storage"),
     "TargetID Reachability Consistency NodeID\n     101   Online\n", "missing consistency"),
    (lambda t: parsers.parse_ctl_listtargets(t, "storage"),
     "TargetID Cap. Pool NodeID\n     101   full   1\n", "unknown capacity pool 'full'"),
])
def test_bad_v8_and_layout_input(call, text, expected):
    with pytest.raises(ParseError, match=expected):
        call(text)


def test_check_servers_route_that_failed_has_no_address():
    text = ("Storage\n==========\nstor03 [ID: 3]: reachable at <connect failed on all available routes>\n"
            "stor04 [ID: 4]: UNREACHABLE\n\n")
    rows = parsers.parse_check_servers(text)
    assert [(r.name, r.reachable, r.address) for r in rows] == [("stor03", True, None), ("stor04", False, None)]


def _parser_for(path: Path):
    """Which parser reads a fixture, by the command it stands for."""
    name, kind = path.name, path.parent.name
    table = {
        "beegfs-df.txt": parsers.parse_beegfs_df,
        "check-servers.txt": parsers.parse_check_servers,
        "proc_mounts.txt": parsers.parse_proc_mounts,
        "systemctl_show.txt": parsers.parse_systemctl_show,
        "cobra_unknown_flag.txt": None,  # stderr of a refused flag, not parsed
    }
    if name in table:
        return table[name]
    if name.startswith("listnodes_"):
        node_type = name.removeprefix("listnodes_").removesuffix(".txt")
        return lambda text: parsers.parse_ctl_listnodes(text, node_type)
    if name.startswith("listtargets_"):
        node_type = "meta" if "meta" in name else "storage"
        return lambda text: parsers.parse_ctl_listtargets_with_space(text, node_type)
    for prefix, parser in (("node_list", parsers.parse_v8_node_list), ("target_list", parsers.parse_v8_target_list),
                           ("health_check", parsers.parse_v8_health_report), ("health_df", parsers.parse_v8_health_df),
                           ("health_net", parsers.parse_v8_health_net)):
        if name.startswith(prefix):
            return parser
    raise AssertionError(f"no parser known for fixture {kind}/{name}")


BROKEN = {"v7/garbage/listtargets_storage.txt", "v7/check_servers_unexpected/check-servers.txt",
          "v7/check_servers_unexpected/beegfs-df.txt"}


@pytest.mark.parametrize("rel", sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*")
                                       if p.suffix in (".txt", ".json")))
def test_every_fixture_parses_or_is_a_declared_broken_one(rel):
    parse = _parser_for(FIXTURES / rel)
    if parse is None:
        return
    if rel in BROKEN:
        if rel.endswith("beegfs-df.txt"):  # the tool failed: only headings, nothing to read
            assert parse(fixture(rel)) == []
        else:
            with pytest.raises(ParseError):
                parse(fixture(rel))
        return
    result = parse(fixture(rel))
    rows = result.checks if hasattr(result, "checks") else (result[0] if isinstance(result, tuple) else result)
    assert rows, rel


def test_v8_table_with_a_column_a_newer_release_added():
    lines = fixture("v8/variants/target_list.table.txt").splitlines()
    at = lines[0].index("ALIAS")
    widened = [line[:at] + ("ZONE  " if i == 0 else "z1    ") + line[at:] if line.strip() else line
               for i, line in enumerate(lines)]
    states, spaces = parsers.parse_v8_target_list("\n".join(widened))
    assert [(s.type, s.id, s.alias) for s in states][:2] == [("meta", 1, "target_meta_1"), ("storage", 101, "target_storage_101")]
    assert spaces[-1].capacity_pool == "emergency"
