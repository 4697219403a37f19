"""Parsers for the text BeeGFS tools print. Pure functions: text in, records out.

Every format here is taken from the tools' source code (ThinkParQ/beegfs for BeeGFS 7's
beegfs-ctl and its wrapper scripts, ThinkParQ/beegfs-go for BeeGFS 8's `beegfs`); the test
fixtures under tests/backends/beegfs/fixtures/ cite the exact file for each. Anything that does
not match raises `ParseError` naming the command and the line, so a changed or broken tool shows
up as an error on the pane instead of as wrong numbers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

REACHABILITY = ("Online", "Probably-offline", "Offline")
CONSISTENCY = ("Good", "Needs-resync", "Bad", "resyncing")


class ParseError(ValueError):
    """Output of a BeeGFS command that we do not understand."""

    def __init__(self, what: str, problem: str, line_no: int | None = None, line: str | None = None) -> None:
        where = f" line {line_no}" if line_no is not None else ""
        shown = f": {line.strip()[:120]!r}" if line is not None else ""
        super().__init__(f"cannot parse `{what}` output{where}: {problem}{shown}")


@dataclass(frozen=True)
class NodeRecord:
    type: str  # management | meta | storage | client
    name: str
    num_id: int | None
    reachable: bool | None = None
    address: str | None = None


@dataclass(frozen=True)
class TargetState:
    type: str  # meta | storage
    id: int
    reachability: str | None
    consistency: str | None
    node: str | None = None
    node_id: int | None = None
    alias: str | None = None


@dataclass(frozen=True)
class TargetSpace:
    type: str
    id: int
    capacity_pool: str | None
    total_bytes: int | None
    free_bytes: int | None
    total_inodes: int | None
    free_inodes: int | None


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


@dataclass(frozen=True)
class HealthLine:
    status: str  # HEALTHY | DEGRADED | CRITICAL | UNKNOWN
    check: str
    summary: str | None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for no, line in enumerate(text.splitlines(), start=1):
        yield no, line.rstrip()


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------
_IEC = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5, "E": 1024**6}
_SI = {"": 1, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "P": 1000**5}


def bytes_from(value: str) -> int:
    """'7448.1GiB' -> bytes; '997409685504' -> bytes (BeeGFS 8 --raw)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*(?:([KMGTPE])i)?B?\s*", value)
    if not m:
        raise ValueError(f"not a byte size: {value!r}")
    return round(float(m.group(1)) * _IEC[m.group(2) or ""])


def count_from(value: str) -> int:
    """'745.4M' -> 745400000 (beegfs-ctl prints inodes in millions, M = 1000*1000)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([kKMGTP]?)\s*", value)
    if not m:
        raise ValueError(f"not a count: {value!r}")
    return round(float(m.group(1)) * _SI[m.group(2)])


# ---------------------------------------------------------------------------------------------
# BeeGFS 7: beegfs-ctl and its wrapper scripts
# ---------------------------------------------------------------------------------------------
_TYPED_ID = re.compile(r"^(?P<name>\S.*?) \[ID: (?P<id>\d+)\]$")


def parse_ctl_listnodes(text: str, node_type: str) -> list[NodeRecord]:
    """`beegfs-ctl --listnodes --nodetype=<t> --reachable`: a line `name [ID: n]` per node, then
    indented detail lines, of which `Reachable: <yes>|<no>` is the one we keep."""
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
    """NodeID column: '1' (short) or 'beegfs-storage stor01 [ID: 1]' (--longnodes)."""
    text = text.strip()
    if text.isdigit():
        return None, int(text)
    m = re.search(r"(\S+) \[ID: (\d+)\]$", text)
    if m:
        return m.group(1), int(m.group(2))
    raise ValueError(text)


def parse_ctl_listtargets(text: str, node_type: str) -> list[TargetState]:
    """`beegfs-ctl --listtargets --nodetype=<t> --state --longnodes` (ModeListTargets.cpp):
    header `TargetID Reachability Consistency NodeID`, a `====` line, then one row per target."""
    what = f"beegfs-ctl --listtargets --nodetype={node_type} --state --longnodes"
    targets: list[TargetState] = []
    seen_header = False
    for no, line in _lines(text):
        if not line.strip() or set(line.strip()) <= {"=", " "}:
            continue
        if not seen_header:
            words = line.split()
            if words[:3] != ["TargetID", "Reachability", "Consistency"]:
                raise ParseError(what, "expected the header `TargetID Reachability Consistency NodeID`", no, line)
            seen_header = True
            continue
        parts = line.split()
        if len(parts) < 3 or not parts[0].isdigit():
            raise ParseError(what, "expected `<target id> <reachability> <consistency> <node>`", no, line)
        if parts[1] == "<invalid_value>":  # the tool's way of saying 'no state known' (%29s)
            reach, cons, rest = None, None, parts[2:]
        else:
            reach, cons, rest = parts[1], parts[2], parts[3:]
            if reach not in REACHABILITY:
                raise ParseError(what, f"unknown reachability {reach!r}", no, line)
            if cons not in CONSISTENCY:
                raise ParseError(what, f"unknown consistency {cons!r}", no, line)
        node = node_id = None
        if rest:
            try:
                node, node_id = _node_ref(" ".join(rest))
            except ValueError:
                raise ParseError(what, "node column not understood", no, line) from None
        targets.append(TargetState(type=node_type, id=int(parts[0]), reachability=reach, consistency=cons,
                                   node=node, node_id=node_id))
    if not seen_header:
        raise ParseError(what, "no header line (is this beegfs-ctl?)")
    return targets


_DF_ROW = re.compile(
    r"^\s*(?P<id>\d+)\s+(?P<pool>normal|low|emergency|unknown)\s+"
    r"(?P<total>[\d.]+[KMGTPE]?i?B)\s+(?P<free>[\d.]+[KMGTPE]?i?B)\s+(?P<fpct>\d+)%\s+"
    r"(?P<itotal>[\d.]+[kKMGTP]?)\s+(?P<ifree>[\d.]+[kKMGTP]?)\s+(?P<ipct>\d+)%$"
)


def parse_beegfs_df(text: str) -> list[TargetSpace]:
    """`beegfs-df` (utils/scripts/beegfs-df -> beegfs-ctl --listtargets --hidenodeid --pools
    --spaceinfo): sections `METADATA SERVERS:` and `STORAGE TARGETS:`, rows
    `id pool total free free% itotal ifree ifree%` with sizes in GiB and inodes in M (1e6)."""
    what = "beegfs-df"
    out: list[TargetSpace] = []
    section: str | None = None
    sections_seen = 0
    for no, line in _lines(text):
        stripped = line.strip()
        if not stripped or set(stripped) <= {"=", " "}:
            continue
        if stripped == "METADATA SERVERS:":
            section, sections_seen = "meta", sections_seen + 1
            continue
        if stripped == "STORAGE TARGETS:":
            section, sections_seen = "storage", sections_seen + 1
            continue
        if stripped.startswith("TargetID"):
            continue
        if section is None:
            raise ParseError(what, "row before a METADATA SERVERS:/STORAGE TARGETS: heading", no, line)
        m = _DF_ROW.match(line)
        if not m:
            raise ParseError(what, "expected `<id> <pool> <total> <free> <%> <itotal> <ifree> <%>`", no, line)
        out.append(TargetSpace(
            type=section, id=int(m["id"]), capacity_pool=m["pool"],
            total_bytes=bytes_from(m["total"]), free_bytes=bytes_from(m["free"]),
            total_inodes=count_from(m["itotal"]), free_inodes=count_from(m["ifree"]),
        ))
    if sections_seen == 0:
        raise ParseError(what, "neither METADATA SERVERS: nor STORAGE TARGETS: found")
    return out


_CHECK_TYPES = {"Management": "management", "Metadata": "meta", "Storage": "storage"}
_CHECK_ROW = re.compile(r"^(?P<name>.+?) \[ID: (?P<id>\d+)\]: (?:reachable at (?P<route>.+)|(?P<down>UNREACHABLE))$")


def parse_check_servers(text: str) -> list[NodeRecord]:
    """`beegfs-check-servers` (utils/scripts/beegfs-check-servers): per type a heading
    (Management/Metadata/Storage) and `==========`, then `<node> [ID: n]: reachable at
    <ip>:<port> (protocol: TCP)` or `<node> [ID: n]: UNREACHABLE`."""
    what = "beegfs-check-servers"
    out: list[NodeRecord] = []
    node_type: str | None = None
    for no, line in _lines(text):
        stripped = line.strip()
        if not stripped or set(stripped) <= {"="}:
            continue
        if stripped in _CHECK_TYPES:
            node_type = _CHECK_TYPES[stripped]
            continue
        m = _CHECK_ROW.match(stripped)
        if not m or node_type is None:
            raise ParseError(what, "expected `<node> [ID: <n>]: reachable at ...` or `...: UNREACHABLE`", no, line)
        address = None
        if m["route"]:
            address = re.split(r"[\s]", m["route"], maxsplit=1)[0].rsplit(":", 1)[0] or None
        out.append(NodeRecord(type=node_type, name=m["name"], num_id=int(m["id"]),
                              reachable=m["down"] is None, address=address))
    if not out and node_type is None:
        raise ParseError(what, "no Management/Metadata/Storage heading found")
    return out


# ---------------------------------------------------------------------------------------------
# BeeGFS 8: the `beegfs` tool with --output json (ctl/internal/cmdfmt/json.go: a JSON array of
# row objects per page, or one row per line as NDJSON; keys are the column names)
# ---------------------------------------------------------------------------------------------
def json_rows(text: str, what: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    rows: list[dict[str, Any]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            line_no = text.count("\n", 0, exc.pos) + 1
            raise ParseError(what, f"invalid JSON ({exc.msg})", line_no, text.splitlines()[line_no - 1]) from None
        for row in value if isinstance(value, list) else [value]:
            if not isinstance(row, dict):
                raise ParseError(what, f"expected JSON objects, got {type(row).__name__}")
            rows.append({str(k).strip().lower().replace(" ", "_").replace("-", "_"): v for k, v in row.items()})
    return rows


_SHORT_TYPES = {"m": "meta", "s": "storage", "c": "client", "mg": "management"}
_LONG_TYPES = {"meta": "meta", "metadata": "meta", "storage": "storage", "client": "client",
               "management": "management", "mgmt": "management"}


def _legacy_id(value: Any) -> tuple[str | None, int]:
    """`id` is a LegacyId: printed as 's:101' / 'mg:1', or marshalled as {num_id, node_type}."""
    if isinstance(value, dict):
        num = value.get("num_id")
        kind = value.get("node_type")
        if not isinstance(num, int):
            raise ValueError(f"id without num_id: {value!r}")
        return _LONG_TYPES.get(str(kind).lower()) if kind is not None else None, num
    text = str(value).strip()
    m = re.fullmatch(r"([a-z]+):(\d+)", text)
    if m and (m.group(1) in _SHORT_TYPES or m.group(1) in _LONG_TYPES):
        return _SHORT_TYPES.get(m.group(1)) or _LONG_TYPES[m.group(1)], int(m.group(2))
    if text.isdigit():
        return None, int(text)
    raise ValueError(f"not a BeeGFS id: {value!r}")


def _optional(value: Any, convert: Any) -> int | None:
    if value is None or value == "" or value == "-":
        return None
    if isinstance(value, (int, float)):
        return int(value)
    return convert(str(value).split("(")[0])


def parse_v8_node_list(text: str) -> list[NodeRecord]:
    """`beegfs --output json node list --reachability-check` (ctl/internal/cmd/node/list.go):
    columns id, type, alias, nics ('<type>:<name> (<addr>)' joined by newlines) and reachable
    ('yes'/'no'/'?' per NIC, joined by newlines)."""
    what = "beegfs node list"
    out: list[NodeRecord] = []
    for n, row in enumerate(json_rows(text, what), start=1):
        try:
            kind, num = _legacy_id(row["id"])
            node_type = _LONG_TYPES.get(str(row.get("type", "")).lower()) or kind
            if node_type is None:
                raise ValueError(f"unknown node type {row.get('type')!r}")
            alias = str(row.get("alias") or f"{node_type}_{num}")
        except (KeyError, ValueError) as exc:
            raise ParseError(what, f"row {n}: {exc}") from None
        nics = row.get("nics") or ""
        nic_list = nics if isinstance(nics, list) else str(nics).splitlines()
        addresses = [m.group(1) for nic in nic_list if (m := re.search(r"\(([^,)\s]+)", str(nic)))]
        reach = row.get("reachable")
        answers = reach if isinstance(reach, list) else str(reach or "").split()
        reachable = True if "yes" in answers else (False if "no" in answers else None)
        out.append(NodeRecord(type=node_type, name=alias, num_id=num, reachable=reachable,
                              address=addresses[0] if addresses else None))
    return out


def parse_v8_target_list(text: str) -> tuple[list[TargetState], list[TargetSpace]]:
    """`beegfs --output json --raw target list --state --capacity` (ctl/internal/cmd/target/list.go):
    columns id, alias, on_node, pool, reachability, last_contact, consistency, space, sused, sfree,
    inodes, iused, ifree; with --raw sizes are plain numbers."""
    what = "beegfs target list"
    states: list[TargetState] = []
    spaces: list[TargetSpace] = []
    for n, row in enumerate(json_rows(text, what), start=1):
        try:
            kind, num = _legacy_id(row["id"])
            if kind not in ("meta", "storage"):
                raise ValueError(f"target id {row['id']!r} is neither meta nor storage")
            reach = row.get("reachability") or None
            cons = row.get("consistency") or None
            if reach is not None and reach not in REACHABILITY:
                raise ValueError(f"unknown reachability {reach!r}")
            if cons is not None and cons not in CONSISTENCY:
                raise ValueError(f"unknown consistency {cons!r}")
            node = row.get("on_node")
            pool = row.get("cap_pool") or row.get("capacity_pool")
            total = _optional(row.get("space"), bytes_from)
            free = _optional(row.get("sfree"), bytes_from)
            itotal = _optional(row.get("inodes"), count_from)
            ifree = _optional(row.get("ifree"), count_from)
        except (KeyError, ValueError) as exc:
            raise ParseError(what, f"row {n}: {exc}") from None
        states.append(TargetState(type=kind, id=num, reachability=reach, consistency=cons,
                                  node=str(node) if node not in (None, "") else None, alias=row.get("alias")))
        spaces.append(TargetSpace(type=kind, id=num, capacity_pool=str(pool).lower() if pool else None,
                                  total_bytes=total, free_bytes=free, total_inodes=itotal, free_inodes=ifree))
    return states, spaces


_HEALTH_ICONS = {"✅": "HEALTHY", "⚠️": "DEGRADED", "🛑": "CRITICAL", "❓": "UNKNOWN"}
_HEALTH_LINE = re.compile(r"^\((HEALTHY|DEGRADED|CRITICAL|UNKNOWN)\)\s+(.+?)(?:\s+->\s+(.*))?$")


def parse_v8_health(text: str) -> list[HealthLine]:
    """`beegfs --disable-emojis health check` (ctl/internal/cmd/health/check.go): human report
    whose check lines read `(STATUS) <check> -> <summary>`. Other lines (headings, hints, tables)
    are skipped: this report only adds reasons, the verdict is computed from the lists."""
    out = []
    for _, line in _lines(text):
        stripped = line.strip()
        for icon, word in _HEALTH_ICONS.items():
            if stripped.startswith(icon):
                stripped = f"({word})" + stripped[len(icon):]
                break
        m = _HEALTH_LINE.match(stripped)
        if m:
            out.append(HealthLine(status=m.group(1), check=m.group(2).strip(), summary=(m.group(3) or "").strip() or None))
    return out


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
