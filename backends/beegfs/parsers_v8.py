"""Parsers for what BeeGFS 8's `beegfs` tool prints (ThinkParQ/beegfs-go, `ctl`). Pure functions.

Every shape here follows beegfs-go's own code; tests/fixtures/beegfs/README.md cites the file
and commit for each fixture. The facts the parsers rest on:

- `--output json` / `json-pretty` print a JSON array of row objects per page (ndjson, or json with
  `--page-size 0`: one object per line), keys = the column names (cmdfmt/fmt.go and json.go). The
  default `table` output is a go-pretty table (see gotable.py). Releases before the JSON printer
  existed (cmdfmt.TableWrapper) print the table whatever --output says.
- Column names changed between releases: `on node`/`last contact`/`capacity pool`/`space` as
  `free/total`, `% free space`, `inodes` as `free/total`, `% free inodes` (8.0-era TableWrapper),
  then `cap pool`, `space`, `sused`, `sfree`, `inodes`, `iused`, `ifree`, later with underscores
  (`on_node`, `last_contact`, `sync_state`, `cap_pool`). All of them are read.
- An entity id in JSON is the Go struct itself: a LegacyId `{"num_id": 101, "node_type": 3}` and
  an EntityIdSet `{"uid": .., "alias": .., "id": {legacy id}}` (common/beegfs/entity.go). NodeType
  has no JSON marshaller, so node types are numbers: 1 client, 2 meta, 3 storage, 4 management,
  5 remote, 6 sync (common/beegfs/nodetype.go). In tables the same ids print through String():
  `s:101`, `m:1`, `mg:1`, `c:3` and `<alias>[s:101, uid:7]` (EntityIdSet, --debug).
- Without `--raw`, sizes are `unitconv.FormatPrefix(.., IEC, 1)+"B"` (e.g. `7.3TiB`) and inode
  counts SI (`745.4M`); `sused`/`iused` carry ` (12.34%)`.
- Capacity pools print as `Normal`, `Low`, `Emergency` (ctl/pkg/ctl/target/list.go).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from backends.beegfs.gotable import column_key, parse_table
from backends.beegfs.records import (
    CONSISTENCY, REACHABILITY, HealthLine, NodeRecord, ParseError, TargetSpace, TargetState, bytes_from, count_from,
)

# common/beegfs/nodetype.go: InvalidNodeType = 0, then iota order
NODE_TYPE_NUMBERS = {1: "client", 2: "meta", 3: "storage", 4: "management", 5: "remote", 6: "sync"}
_SHORT_TYPES = {"c": "client", "m": "meta", "s": "storage", "mg": "management", "r": "remote"}
_LONG_TYPES = {"client": "client", "meta": "meta", "metadata": "meta", "storage": "storage",
               "management": "management", "mgmt": "management", "mgmtd": "management",
               "remote": "remote", "sync": "sync"}
# Node types the cockpit does not show (BeeGFS 8 remote storage target services).
IGNORED_NODE_TYPES = {"remote", "sync"}


def node_type(value: Any) -> str | None:
    """A NodeType as JSON (number) or text ('storage', 's', '3') -> 'storage'; None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return NODE_TYPE_NUMBERS.get(value)
    text = str(value).strip().lower()
    if text.isdigit():
        return NODE_TYPE_NUMBERS.get(int(text))
    return _LONG_TYPES.get(text) or _SHORT_TYPES.get(text)


@dataclass(frozen=True)
class EntityRef:
    type: str | None
    num_id: int | None
    alias: str | None = None
    uid: int | None = None


_DEBUG_SET = re.compile(r"^(?P<alias>.*?)\[(?P<legacy>[a-z]+:\d+), uid:(?P<uid>-?\d+)\]$")
_LEGACY_TEXT = re.compile(r"^(?P<kind>[a-z]+):(?P<num>\d+)$")


def entity(value: Any) -> EntityRef:
    """Any spelling of a BeeGFS 8 entity id -> EntityRef. Raises ValueError when it is none."""
    if isinstance(value, dict):
        keys = {column_key(k): v for k, v in value.items()}
        if "num_id" in keys:
            num = keys["num_id"]
            if isinstance(num, bool) or not isinstance(num, int):
                raise ValueError(f"num_id is not a number: {value!r}")
            kind = node_type(keys.get("node_type")) if keys.get("node_type") is not None else None
            return EntityRef(kind, num)
        legacy = keys.get("id", keys.get("legacy_id", keys.get("legacyid")))
        if legacy is None:
            raise ValueError(f"entity without a legacy id: {value!r}")
        inner = entity(legacy)
        alias = keys.get("alias")
        uid = keys.get("uid")
        return EntityRef(inner.type, inner.num_id, str(alias) if alias not in (None, "") else None,
                         uid if isinstance(uid, int) and not isinstance(uid, bool) else None)
    if isinstance(value, int) and not isinstance(value, bool):
        return EntityRef(None, value)
    text = str(value).strip()
    m = _DEBUG_SET.match(text)
    if m:
        inner = entity(m["legacy"])
        return EntityRef(inner.type, inner.num_id, m["alias"] or None, int(m["uid"]))
    m = _LEGACY_TEXT.match(text)
    if m:
        kind = _SHORT_TYPES.get(m["kind"]) or _LONG_TYPES.get(m["kind"])
        if kind is None:
            raise ValueError(f"not a BeeGFS id: {text!r} (unknown node type {m['kind']!r})")
        return EntityRef(kind, int(m["num"]))
    if text.isdigit():
        return EntityRef(None, int(text))
    raise ValueError(f"not a BeeGFS id: {value!r}")


# ---------------------------------------------------------------------------------------------
# Framing: JSON pages, NDJSON, pretty JSON, or a table
# ---------------------------------------------------------------------------------------------
def _json_values(text: str, what: str) -> Iterator[Any]:
    """Every JSON value in `text` (concatenated pages, NDJSON, pretty-printed), in order."""
    decoder = json.JSONDecoder()
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            return
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            line_no = text.count("\n", 0, exc.pos) + 1
            raise ParseError(what, f"invalid JSON ({exc.msg})", line_no, text.splitlines()[line_no - 1]) from None
        yield value


def looks_like_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped.startswith(("[", "{"))


def json_rows(text: str, what: str) -> list[dict[str, Any]]:
    """Row objects from any JSON framing the tool uses; keys normalised by column_key()."""
    rows: list[dict[str, Any]] = []
    for value in _json_values(text, what):
        for row in value if isinstance(value, list) else [value]:
            if not isinstance(row, dict):
                raise ParseError(what, f"expected JSON objects, got {type(row).__name__}")
            rows.append({column_key(str(k)): v for k, v in row.items()})
    return rows


def rows_of(text: str, what: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """JSON or table output -> rows keyed by column."""
    lines = [line if not _is_section_heading(line) else "" for line in text.splitlines()]
    if looks_like_json("\n".join(lines)):
        return json_rows("\n".join(lines), what)
    try:
        return parse_table(lines, columns)
    except ValueError as exc:
        raise ParseError(what, str(exc)) from None


def _is_section_heading(line: str) -> bool:
    """`beegfs health df` (table, and JSON before 8.x printed it once) frames each half with
    health/utils.go sPrintHeader: a dash line, `Metadata Targets`/`Storage Targets`, a dash line."""
    stripped = line.strip()
    return bool(stripped) and (set(stripped) <= {"-"} or stripped in ("Metadata Targets", "Storage Targets"))


# ---------------------------------------------------------------------------------------------
# beegfs node list
# ---------------------------------------------------------------------------------------------
NODE_COLUMNS = ("uid", "id", "type", "alias", "nics", "reachable")


def _lines_of(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in str(value).splitlines() if part.strip()]


def parse_node_list(text: str) -> list[NodeRecord]:
    """`beegfs [--output json] node list --reachability-check` (ctl/internal/cmd/node/list.go):
    columns uid, id, type, alias, nics (`<type>:<name> (<addr>)`, management
    `<type>:<name> (<addr>,<grpc port>)`, one per line) and reachable (yes/no/? per nic). A node
    is reachable when any NIC answered. Remote and sync nodes are skipped."""
    what = "beegfs node list"
    out: list[NodeRecord] = []
    for n, row in enumerate(rows_of(text, what, NODE_COLUMNS), start=1):
        try:
            ref = entity(row["id"])
            kind = node_type(row["type"]) if row.get("type") not in (None, "") else ref.type
            kind = kind or ref.type
            if kind is None:
                raise ValueError(f"unknown node type {row.get('type')!r}")
        except (KeyError, ValueError) as exc:
            raise ParseError(what, f"row {n}: {exc}") from None
        if kind in IGNORED_NODE_TYPES:
            continue
        alias = str(row.get("alias") or "") or f"node_{kind}_{ref.num_id}"
        addresses = [m.group(1) for nic in _lines_of(row.get("nics")) if (m := re.search(r"\(([^,)\s]+)", nic))]
        answers = [a.strip().lower() for a in _lines_of(row.get("reachable"))]
        reachable = True if "yes" in answers else (False if "no" in answers else None)
        out.append(NodeRecord(type=kind, name=alias, num_id=ref.num_id, reachable=reachable,
                              address=addresses[0] if addresses else None))
    return out


# ---------------------------------------------------------------------------------------------
# beegfs target list / beegfs health df
# ---------------------------------------------------------------------------------------------
TARGET_COLUMNS = ("uid", "id", "alias", "on_node", "pool", "reachability", "last_contact", "consistency",
                  "sync_state", "cap_pool", "capacity_pool", "space", "sused", "sfree", "inodes", "iused",
                  "ifree", "%_free_space", "%_free_inodes")
_POOLS = {"normal": "normal", "low": "low", "emergency": "emergency"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "-", "-/", "-/-", "unknown"))


def _size(value: Any, convert: Any) -> int | None:
    """'997409685504', '7.3TiB', '1.2TiB (17.90%)', 745400000 -> int; '-' -> None."""
    if _missing(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return convert(str(value).split("(")[0].strip())


def _free_total(value: Any, convert: Any) -> tuple[int | None, int | None]:
    """8.0-era `space`/`inodes` cell: '<free>/<total>' (a tab after total), either may be '-'."""
    if _missing(value):
        return None, None
    free, sep, total = str(value).strip().partition("/")
    if not sep:
        raise ValueError(f"expected '<free>/<total>', got {value!r}")
    return _size(free, convert), _size(total, convert)


def _state(value: Any, allowed: tuple[str, ...], what: str) -> str | None:
    if _missing(value):
        return None
    text = str(value).strip()
    if text not in allowed:
        raise ValueError(f"unknown {what} {text!r}")
    return text


def _pool(row: dict[str, Any]) -> str | None:
    value = row.get("cap_pool", row.get("capacity_pool"))
    if _missing(value):
        return None
    text = str(value).strip().lower()
    if text not in _POOLS:
        raise ValueError(f"unknown capacity pool {value!r}")
    return _POOLS[text]


def _node_alias(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, dict):
        return entity(value).alias
    text = str(value).strip()
    m = _DEBUG_SET.match(text)
    return (m["alias"] or None) if m else text


def target_rows(rows: list[dict[str, Any]], what: str) -> tuple[list[TargetState], list[TargetSpace]]:
    states: list[TargetState] = []
    spaces: list[TargetSpace] = []
    for n, row in enumerate(rows, start=1):
        try:
            ref = entity(row["id"])
            if ref.type not in ("meta", "storage"):
                raise ValueError(f"target id {row['id']!r} is neither meta nor storage")
            reach = _state(row.get("reachability"), REACHABILITY, "reachability")
            cons = _state(row.get("consistency"), CONSISTENCY, "consistency")
            pool = _pool(row)
            if "sfree" in row or "sused" in row or ("space" in row and "%_free_space" not in row):
                total, free = _size(row.get("space"), bytes_from), _size(row.get("sfree"), bytes_from)
                itotal, ifree = _size(row.get("inodes"), count_from), _size(row.get("ifree"), count_from)
            else:
                free, total = _free_total(row.get("space"), bytes_from)
                ifree, itotal = _free_total(row.get("inodes"), count_from)
            alias = row.get("alias")
        except (KeyError, ValueError) as exc:
            raise ParseError(what, f"row {n}: {exc}") from None
        kind: Any = ref.type
        states.append(TargetState(type=kind, id=ref.num_id or 0, reachability=reach, consistency=cons,
                                  node=_node_alias(row.get("on_node")),
                                  alias=str(alias) if not _missing(alias) else None))
        spaces.append(TargetSpace(type=kind, id=ref.num_id or 0, capacity_pool=pool, total_bytes=total,
                                  free_bytes=free, total_inodes=itotal, free_inodes=ifree))
    return states, spaces


def parse_target_list(text: str) -> tuple[list[TargetState], list[TargetSpace]]:
    """`beegfs [--output json] [--raw] target list --state --capacity` (ctl/internal/cmd/target/list.go)."""
    what = "beegfs target list"
    return target_rows(rows_of(text, what, TARGET_COLUMNS), what)


def parse_health_df(text: str) -> list[TargetSpace]:
    """`beegfs health df` / `health capacity` (ctl/internal/cmd/health/df.go): the target list with
    capacity columns; as a table in two halves under `Metadata Targets` / `Storage Targets`
    headings, as JSON one array (releases before the fix printed headings and two arrays)."""
    what = "beegfs health df"
    return target_rows(rows_of(text, what, TARGET_COLUMNS), what)[1]


# ---------------------------------------------------------------------------------------------
# beegfs health check
# ---------------------------------------------------------------------------------------------
_HEALTH_ICONS = {"✅": "HEALTHY", "⚠️": "DEGRADED", "⚠": "DEGRADED", "🛑": "CRITICAL", "❓": "UNKNOWN"}
_HEALTH_LINE = re.compile(r"^\((HEALTHY|DEGRADED|CRITICAL|UNKNOWN)\)\s+(.+?)(?:\s+->\s*(.*))?$")


@dataclass
class HealthReport:
    """What `beegfs health check` said: one line per check, the overall status when the JSON
    report gives it, and the per-target detail of its Targets section (JSON only)."""

    checks: list[HealthLine] = field(default_factory=list)
    status: str | None = None
    states: list[TargetState] = field(default_factory=list)
    spaces: list[TargetSpace] = field(default_factory=list)


def _health_human(text: str) -> HealthReport:
    """The human report (renderHuman/statusLine, and the older runHealthCheckCmd printfs):
    `<icon> <check> -> <summary>`, the icon an emoji or, with --disable-emojis, `(STATUS)`;
    with --no-hints the ` -> summary` is left out. Other lines (headings, hints, the df tables
    printed for unhealthy targets) carry no verdict and are skipped."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        for icon, word in _HEALTH_ICONS.items():
            if stripped.startswith(icon):
                stripped = f"({word})" + stripped[len(icon):].lstrip("\ufe0f")
                break
        m = _HEALTH_LINE.match(stripped)
        if m:
            out.append(HealthLine(status=m.group(1), check=m.group(2).strip(), summary=(m.group(3) or "").strip() or None))
    rank = ("UNKNOWN", "HEALTHY", "DEGRADED", "CRITICAL")  # report.go Status order, worst last
    worst = max((h.status for h in out), key=rank.index) if out else None
    return HealthReport(checks=out, status=worst)


def _health_json(text: str, what: str) -> HealthReport:
    """The JSON report (ctl/pkg/ctl/health/report.go Report: fs, fsUUID, status, sections[title,
    checks[name, status, summary], detail]); the Targets section's detail (detail.go
    TargetsDetail) lists every target with its state and capacity. In --watch mode NDJSON holds
    one report per refresh: the last one counts."""
    reports = [v for v in _json_values(text, what)]
    if not reports or not isinstance(reports[-1], dict) or "sections" not in reports[-1]:
        raise ParseError(what, "JSON without a `sections` list (not a health report)")
    report = reports[-1]
    out = HealthReport(status=str(report.get("status") or "").upper() or None)
    for section in report.get("sections") or ():
        for check in section.get("checks") or ():
            status = str(check.get("status", "unknown")).upper()
            if status not in ("HEALTHY", "DEGRADED", "CRITICAL", "UNKNOWN"):
                raise ParseError(what, f"check {check.get('name')!r} has unknown status {check.get('status')!r}")
            out.checks.append(HealthLine(status=status, check=str(check.get("name", "?")),
                                         summary=str(check.get("summary") or "") or None))
        detail = section.get("detail")
        if isinstance(detail, dict) and isinstance(detail.get("targets"), list):
            try:
                rows = [{"id": t.get("target"), "alias": entity(t.get("target")).alias, "on_node": t.get("node"),
                         "reachability": t.get("reachability"), "consistency": t.get("consistency"),
                         "cap_pool": t.get("capacityPool"), "space": t.get("totalSpaceBytes"),
                         "sfree": t.get("freeSpaceBytes"), "inodes": t.get("totalInodes"),
                         "ifree": t.get("freeInodes")}
                        for t in detail["targets"] if isinstance(t, dict)]
            except ValueError as exc:
                raise ParseError(what, f"targets detail: {exc}") from None
            out.states, out.spaces = target_rows(rows, what)
    return out


def parse_health_check(text: str) -> HealthReport:
    """`beegfs [--output json|json-pretty|ndjson] [--disable-emojis] health check`
    (ctl/internal/cmd/health/check.go). Releases before the JSON report print the human report
    whatever --output says, so both are read."""
    what = "beegfs health check"
    if looks_like_json(text):
        return _health_json(text, what)
    return _health_human(text)


# ---------------------------------------------------------------------------------------------
# beegfs health net
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerConnection:
    type: str  # RDMA, TCP, ...
    ip: str
    connections: int
    fallback: bool


@dataclass(frozen=True)
class ServerConnections:
    node_type: str  # management | meta | storage
    alias: str
    num_id: int
    peers: tuple[PeerConnection, ...]


@dataclass(frozen=True)
class ClientConnections:
    client_id: str
    mount: str | None
    nodes: tuple[ServerConnections, ...]

    @property
    def uses_fallback(self) -> bool:
        return any(p.fallback for n in self.nodes for p in n.peers)


_NET_CLIENT = re.compile(r"^Client ID: (?P<id>\S+) \(beegfs://(?P<mgmtd>.*?) -> (?P<mount>.*)\)$")
_NET_NODE = re.compile(r"^(?P<alias>.+?) \[ID: (?P<id>\d+)\]$")
_NET_PEER = re.compile(r"(?P<type>[^:;]+): (?P<n>\d+) \((?P<ip>[^ )]+)(?P<fb> \[fallback route\])?\)")
_NET_HEADINGS = {"Management Node": "management", "Metadata Nodes": "meta", "Storage Nodes": "storage"}


def _net_json(text: str, what: str) -> list[ClientConnections]:
    """detail.go ClientConn: id, mount, fallbackStatus, fallbackSummary, mgmtdNodes/metaNodes/
    storageNodes [alias, numID, peers[type, ip, connections, fallback]]."""
    out = []
    for value in _json_values(text, what):
        for client in value if isinstance(value, list) else [value]:
            if not isinstance(client, dict) or "id" not in client:
                raise ParseError(what, f"expected client connection objects, got {str(client)[:80]!r}")
            nodes = []
            for key, kind in (("mgmtdNodes", "management"), ("metaNodes", "meta"), ("storageNodes", "storage")):
                for node in client.get(key) or ():
                    peers = tuple(PeerConnection(type=str(p.get("type")), ip=str(p.get("ip")),
                                                 connections=int(p.get("connections", 0)), fallback=bool(p.get("fallback")))
                                  for p in node.get("peers") or ())
                    nodes.append(ServerConnections(kind, str(node.get("alias")), int(node.get("numID", 0)), peers))
            out.append(ClientConnections(str(client["id"]), client.get("mount"), tuple(nodes)))
    return out


def _net_human(text: str, what: str) -> list[ClientConnections]:
    """health/net.go printBeeGFSNet under printClientHeader: `Client ID: <id> (beegfs://<mgmtd>
    -> <mount>)`, per server type a heading, `<alias> [ID: <n>]` and `   Connections: <type>:
    <n> (<ip>[ [fallback route]]);...` or `<none>`."""
    out: list[ClientConnections] = []
    client: dict[str, Any] | None = None
    kind: str | None = None
    for no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or set(stripped) <= {"=", "-"}:
            continue
        if m := _NET_CLIENT.match(stripped):
            client = {"id": m["id"], "mount": m["mount"], "nodes": []}
            out.append(client)  # type: ignore[arg-type]
            kind = None
            continue
        if stripped in _NET_HEADINGS:
            kind = _NET_HEADINGS[stripped]
            continue
        if client is None or kind is None:
            raise ParseError(what, "expected a `Client ID:` header and a node type heading first", no, line)
        if stripped.startswith("Connections:"):
            if not client["nodes"]:
                raise ParseError(what, "connections before any node", no, line)
            peers = tuple(PeerConnection(type=p["type"].strip(), ip=p["ip"], connections=int(p["n"]), fallback=bool(p["fb"]))
                          for p in _NET_PEER.finditer(stripped))
            last = client["nodes"][-1]
            client["nodes"][-1] = ServerConnections(last.node_type, last.alias, last.num_id, peers)
            continue
        if m := _NET_NODE.match(stripped):
            client["nodes"].append(ServerConnections(kind, m["alias"], int(m["id"]), ()))
            continue
        raise ParseError(what, "expected `<node> [ID: <n>]` or `Connections: ...`", no, line)
    return [ClientConnections(c["id"], c["mount"], tuple(c["nodes"])) for c in out]  # type: ignore[index]


def parse_health_net(text: str) -> list[ClientConnections]:
    """`beegfs [--output json|json-pretty|ndjson] health net` (ctl/internal/cmd/health/net.go)."""
    what = "beegfs health net"
    if looks_like_json(text):
        return _net_json(text, what)
    return _net_human(text, what)
