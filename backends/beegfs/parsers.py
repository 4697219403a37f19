"""Parsers for the text BeeGFS 7's tools print (beegfs-ctl and its wrapper scripts) and for the
Linux answers the storage source reads; BeeGFS 8's `beegfs` tool is read in parsers_v8.py and
re-exported here under the names callers already use. Pure functions: text in, records out.

Every format here is taken from the tools' source code (ThinkParQ/beegfs for BeeGFS 7,
ThinkParQ/beegfs-go for BeeGFS 8); tests/fixtures/beegfs/README.md cites the exact file for each
fixture. Anything that does not match raises `ParseError` naming the command and the line, so a
changed or broken tool shows up as an error (or, for an optional command, a note) on the pane
instead of as wrong numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from backends.beegfs import parsers_v8
from backends.beegfs.records import (
    CONSISTENCY, REACHABILITY, HealthLine, NodeRecord, ParseError, TargetSpace, TargetState, bytes_from, count_from,
)

__all__ = [
    "CONSISTENCY", "REACHABILITY", "HealthLine", "MountLine", "NodeRecord", "ParseError", "TargetSpace",
    "TargetState", "UnitState", "bytes_from", "count_from", "json_rows", "parse_beegfs_df", "parse_check_servers",
    "parse_ctl_listnodes", "parse_ctl_listtargets", "parse_ctl_listtargets_with_space", "parse_proc_mounts",
    "parse_systemctl_show", "parse_v8_health", "parse_v8_health_df", "parse_v8_health_net", "parse_v8_health_report",
    "parse_v8_node_list", "parse_v8_target_list",
]


@dataclass(frozen=True)
class MountLine:
    source: str
    mount_point: str
    fstype: str
    options: str


@dataclass(frozen=True)
class UnitState:
    unit: str
    load: str
    active: str
    sub: str | None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for no, line in enumerate(text.splitlines(), start=1):
        yield no, line.rstrip()


# ---------------------------------------------------------------------------------------------
# BeeGFS 7: beegfs-ctl and its wrapper scripts
# ---------------------------------------------------------------------------------------------
# Node::getTypedNodeID: `<node id> [ID: <num id>]`; tolerate a missing space before the bracket.
_TYPED_ID = re.compile(r"^(?P<name>\S.*?)\s*\[ID:\s*(?P<id>\d+)\]$")


def parse_ctl_listnodes(text: str, node_type: str) -> list[NodeRecord]:
    """`beegfs-ctl --listnodes --nodetype=<t> --reachable` (ModeGetNodes.cpp): a line
    `name [ID: n]` per node, then indented detail lines, of which `Reachable: <yes>|<no>` is the
    one we keep (--details, --route and --nicdetails add others, skipped)."""
    what = f"beegfs-ctl --listnodes --nodetype={node_type} --reachable"
    nodes: list[NodeRecord] = []
    current: dict[str, Any] | None = None

    def flush() -> None:
        if current is not None:
            nodes.append(NodeRecord(type=node_type, **current))

    for no, line in _lines(text):
        if not line.strip():
            continue
        if line[0].isspace():
            if current is None:
                raise ParseError(what, "detail line before any node", no, line)
            detail = line.strip()
            if detail.startswith("Reachable:"):
                value = detail.partition(":")[2].strip()
                if value not in ("<yes>", "<no>"):
                    raise ParseError(what, "reachability must be <yes> or <no>", no, line)
                current["reachable"] = value == "<yes>"
            continue
        if line.startswith(("Number of nodes:", "Root:")):
            continue
        m = _TYPED_ID.match(line)
        if m:
            flush()
            current = {"name": m["name"], "num_id": int(m["id"]), "reachable": None}
        elif node_type == "client" and re.fullmatch(r"\S+", line):  # old releases: no [ID: n] for clients
            flush()
            current = {"name": line, "num_id": None, "reachable": None}
        else:
            raise ParseError(what, "expected `<node> [ID: <n>]`", no, line)
    flush()
    return nodes


def _node_ref(text: str) -> tuple[str | None, int | None]:
    """NodeID column: '1' (short) or '<type> stor01 [ID: 1]' (--longnodes,
    Node::getNodeIDWithTypeStr; the type word differs between 7.x releases)."""
    text = text.strip()
    if text.isdigit():
        return None, int(text)
    m = re.search(r"(\S+?)\s*\[ID:\s*(\d+)\]$", text)
    if m:
        return m.group(1), int(m.group(2))
    raise ValueError(text)


# ModeListTargets::printHeader: the columns in the order they can appear.
_LT_HEADER_WORDS = {"NodeID": "node", "MirrorGroupID": "mirror_group", "MGMemberType": "member_type",
                    "TargetID": "target", "Reachability": "reachability", "Consistency": "consistency",
                    "St.Pool": "storage_pool", "Cap.Pool": "cap_pool", "Total": "total", "Free": "free",
                    "%": "pct", "ITotal": "itotal", "IFree": "ifree"}
_POOLS = ("normal", "low", "emergency", "unknown")


def _listtargets_header(line: str) -> list[str] | None:
    words = line.replace("St. Pool", "St.Pool").replace("Cap. Pool", "Cap.Pool").split()
    if "TargetID" not in words or not all(w in _LT_HEADER_WORDS for w in words):
        return None
    cols = []
    for i, w in enumerate(words):
        key = _LT_HEADER_WORDS[w]
        if key == "node":
            key = "node_first" if i < words.index("TargetID") else "node_last"
        if key == "pct":
            key = "free_pct" if "free_pct" not in cols else "ifree_pct"
        cols.append(key)
    return cols


def _listtargets_row(cols: list[str], line: str) -> dict[str, str | None]:
    """Cut one row by the header's columns (ModeListTargets::printTarget): every value is one
    word, except a missing state (`<invalid_value>` for both reachability and consistency) and
    the --longnodes NodeID at the end of the line (`<type> <node id> [ID: <n>]`)."""
    words = line.split()
    row: dict[str, str | None] = {}
    i = 0
    for key in cols:
        if key == "consistency":
            continue  # taken together with reachability
        if key == "node_last":
            row[key] = " ".join(words[i:]) or None
            i = len(words)
            continue
        if i >= len(words):
            raise ValueError(f"missing {key} column")
        if key == "reachability":
            if words[i] == "<invalid_value>":
                row["reachability"] = row["consistency"] = None
                i += 1
                continue
            if i + 1 >= len(words):
                raise ValueError("missing consistency column")
            row["reachability"], row["consistency"] = words[i], words[i + 1]
            i += 2
            continue
        row[key] = words[i]
        i += 1
    if i != len(words):
        raise ValueError(f"unexpected extra columns {' '.join(words[i:])!r}")
    return row


def _listtargets(text: str, node_type: str, what: str) -> tuple[list[TargetState], list[TargetSpace]]:
    states: list[TargetState] = []
    spaces: list[TargetSpace] = []
    cols: list[str] | None = None
    for no, line in _lines(text):
        stripped = line.strip()
        if not stripped or set(stripped) <= {"=", " "}:
            continue
        header = _listtargets_header(line) if "TargetID" in line else None
        if header is not None:
            cols = header
            continue
        if cols is None:
            raise ParseError(what, "expected the header `TargetID ...` first (is this beegfs-ctl?)", no, line)
        try:
            row = _listtargets_row(cols, line)
            target_id = int(row["target"] or "")
            reach, cons = row.get("reachability"), row.get("consistency")
            if reach is not None and reach not in REACHABILITY:
                raise ValueError(f"unknown reachability {reach!r}")
            if cons is not None and cons not in CONSISTENCY:
                raise ValueError(f"unknown consistency {cons!r}")
            node_text = row.get("node_last") or row.get("node_first")
            try:
                node, node_id = _node_ref(node_text) if node_text else (None, None)
            except ValueError:
                raise ValueError("node column not understood") from None
            mirror_text = row.get("mirror_group")
            mirror = int(mirror_text) if mirror_text else None
            pool = row.get("cap_pool")
            if pool is not None and pool not in _POOLS:
                raise ValueError(f"unknown capacity pool {pool!r}")
            space = None
            if "total" in cols:
                for key in ("free_pct", "ifree_pct"):
                    if not re.fullmatch(r"\d+%", row.get(key) or ""):
                        raise ValueError(f"{key} is not a percentage: {row.get(key)!r}")
                space = TargetSpace(type=node_type, id=target_id, capacity_pool=pool,
                                    total_bytes=bytes_from(row["total"] or ""), free_bytes=bytes_from(row["free"] or ""),
                                    total_inodes=count_from(row["itotal"] or ""), free_inodes=count_from(row["ifree"] or ""))
            elif pool is not None:
                space = TargetSpace(type=node_type, id=target_id, capacity_pool=pool, total_bytes=None,
                                    free_bytes=None, total_inodes=None, free_inodes=None)
        except KeyError as exc:
            raise ParseError(what, f"missing column {exc.args[0]}", no, line) from None
        except ValueError as exc:
            raise ParseError(what, str(exc), no, line) from None
        if "reachability" in cols or "node_last" in cols or "node_first" in cols or space is None:
            states.append(TargetState(type=node_type, id=target_id, reachability=reach, consistency=cons,
                                      node=node, node_id=node_id, mirror_group=mirror, member_type=row.get("member_type")))
        if space is not None:
            spaces.append(space)
    if cols is None:
        raise ParseError(what, "no header line (is this beegfs-ctl?)")
    return states, spaces


def parse_ctl_listtargets(text: str, node_type: str) -> list[TargetState]:
    """`beegfs-ctl --listtargets --nodetype=<t> --state --longnodes` (ModeListTargets.cpp) and any
    other combination of its columns (--mirrorgroups, --spaceinfo, --pools, --storagepools,
    --nodesfirst, --hidenodeid): a header naming the columns, a `====` line, a row per target."""
    return _listtargets(text, node_type, f"beegfs-ctl --listtargets --nodetype={node_type}")[0]


def parse_ctl_listtargets_with_space(text: str, node_type: str) -> tuple[list[TargetState], list[TargetSpace]]:
    """As parse_ctl_listtargets, plus the capacity of each target when --spaceinfo/--pools were given."""
    return _listtargets(text, node_type, f"beegfs-ctl --listtargets --nodetype={node_type}")


def parse_beegfs_df(text: str) -> list[TargetSpace]:
    """`beegfs-df` (utils/scripts/beegfs-df -> beegfs-ctl --listtargets --hidenodeid --pools
    --spaceinfo): sections `METADATA SERVERS:` and `STORAGE TARGETS:`, each a listtargets table
    `TargetID Cap. Pool Total Free % ITotal IFree %` with sizes in GiB and inodes in M (1e6)."""
    what = "beegfs-df"
    out: list[TargetSpace] = []
    all_lines = text.splitlines()
    sections: dict[str, list[str]] = {}
    section: str | None = None
    for no, line in _lines(text):
        stripped = line.strip()
        if stripped in ("METADATA SERVERS:", "STORAGE TARGETS:"):
            section = "meta" if stripped.startswith("METADATA") else "storage"
            sections[section] = [""] * len(all_lines)  # keeps line numbers in errors
            continue
        if not stripped:
            continue
        if section is None:
            raise ParseError(what, "row before a METADATA SERVERS:/STORAGE TARGETS: heading", no, line)
        sections[section][no - 1] = line
    if not sections:
        raise ParseError(what, "neither METADATA SERVERS: nor STORAGE TARGETS: found")
    for kind, lines in sections.items():
        if any(line.strip() for line in lines):  # empty: beegfs-ctl failed for this half (stderr)
            out.extend(_listtargets("\n".join(lines), kind, what)[1])
    return out


_CHECK_TYPES = {"management": "management", "metadata": "meta", "meta": "meta", "storage": "storage"}
# beegfs-check-servers print_server: `$line: reachable at $route` / `$line: UNREACHABLE`, where $line
# is the listnodes line (`<node> [ID: <n>]`, some releases without the space) and $route the
# `Route:` line of `beegfs-ctl --listnodes --reachable --route` with `Route: ` removed.
_CHECK_ROW = re.compile(r"^(?P<name>.+?)\s*\[ID:\s*(?P<id>\d+)\]\s*:\s*"
                        r"(?:reachable at\s*(?P<route>.*)|(?P<down>UNREACHABLE))\s*$", re.IGNORECASE)


def _route_address(route: str) -> str | None:
    """'10.0.0.1:8003 (protocol: TCP)' -> '10.0.0.1'; '[fe80::1]:8003 ...' -> 'fe80::1'."""
    first = route.strip().split(" ", 1)[0].rstrip(",;")
    if not first or first.startswith("<"):
        return None
    m = re.fullmatch(r"\[(?P<v6>[^\]]+)\](?::\d+)?", first)
    if m:
        return m["v6"]
    host, sep, port = first.rpartition(":")
    return host if sep and port.isdigit() and host else first


def parse_check_servers(text: str) -> list[NodeRecord]:
    """`beegfs-check-servers` (utils/scripts/beegfs-check-servers): per type a heading
    (Management/Metadata/Storage) and `==========`, then `<node> [ID: n]: reachable at
    <ip>:<port> (protocol: TCP)` or `<node> [ID: n]: UNREACHABLE`."""
    what = "beegfs-check-servers"
    out: list[NodeRecord] = []
    node_type: str | None = None
    seen_heading = False
    for no, line in _lines(text):
        stripped = line.strip()
        if not stripped or set(stripped) <= {"=", "-"}:
            continue
        if stripped.lower() in _CHECK_TYPES:
            node_type, seen_heading = _CHECK_TYPES[stripped.lower()], True
            continue
        m = _CHECK_ROW.match(stripped)
        if not m or node_type is None:
            raise ParseError(what, "expected `<node> [ID: <n>]: reachable at ...` or `...: UNREACHABLE`", no, line)
        out.append(NodeRecord(type=node_type, name=m["name"].strip(), num_id=int(m["id"]),
                              reachable=m["down"] is None,
                              address=_route_address(m["route"]) if m["route"] is not None else None))
    if not seen_heading:
        raise ParseError(what, "no Management/Metadata/Storage heading found")
    return out


# ---------------------------------------------------------------------------------------------
# BeeGFS 8 (parsers_v8.py), under the names callers use
# ---------------------------------------------------------------------------------------------
json_rows = parsers_v8.json_rows
parse_v8_node_list = parsers_v8.parse_node_list
parse_v8_target_list = parsers_v8.parse_target_list
parse_v8_health_report = parsers_v8.parse_health_check
parse_v8_health_df = parsers_v8.parse_health_df
parse_v8_health_net = parsers_v8.parse_health_net


def parse_v8_health(text: str) -> list[HealthLine]:
    """The check lines of `beegfs health check`, human or JSON report."""
    return parsers_v8.parse_health_check(text).checks


# ---------------------------------------------------------------------------------------------
# Linux: /proc/mounts and systemctl
# ---------------------------------------------------------------------------------------------
def _unescape_mount(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_proc_mounts(text: str) -> list[MountLine]:
    """/proc/mounts (proc(5)): `source mountpoint fstype options freq passno`, octal escapes."""
    out = []
    for no, line in _lines(text):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) < 4:
            raise ParseError("cat /proc/mounts", "expected `source mountpoint fstype options ...`", no, line)
        out.append(MountLine(source=_unescape_mount(parts[0]), mount_point=_unescape_mount(parts[1]),
                             fstype=parts[2], options=parts[3]))
    return out


def parse_systemctl_show(text: str) -> list[UnitState]:
    """`systemctl show -p Id,LoadState,ActiveState,SubState <units>`: KEY=value blocks separated
    by blank lines, one block per unit."""
    out: list[UnitState] = []
    block: dict[str, str] = {}

    def flush() -> None:
        if block:
            if "Id" not in block or "ActiveState" not in block:
                raise ParseError("systemctl show", f"unit block without Id/ActiveState: {block}")
            out.append(UnitState(unit=block["Id"], load=block.get("LoadState", ""), active=block["ActiveState"],
                                 sub=block.get("SubState")))
            block.clear()

    for no, line in _lines(text):
        if not line.strip():
            flush()
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier():
            raise ParseError("systemctl show", "expected KEY=value", no, line)
        if key in block:  # a new unit without a blank line between (defensive)
            flush()
        block[key] = value
    flush()
    return out
