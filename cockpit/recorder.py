"""The flight recorder: snapshot diffs in SQLite, bounded by a time window and a disk cap.

File layout (stdlib sqlite3, WAL, incremental auto-vacuum):

    meta(key, value)                     format = "cockpit-recording", version, window, cap
    rounds(id, t, first_frame)           a keyframe round: every source's full state written at t
    frames(id, t, source, kind, data)    kind 'key' (full state) or 'diff'; data = zlib(JSON)

Version 2 compresses each diff frame with the JSON of the source's previous frame (back to its
last key frame) as zlib's preset dictionary: consecutive polls repeat the same item keys and
field names, so a diff costs the bytes that differ, not its whole text (at 1,000 jobs polled
every 5 s about a third of version 1's size, see benchmarks/recorder_size.py). A key frame
stands alone, so pruning whole rounds never orphans a chain. Version 1 files (no dictionary)
are read, and appended to, as they are.

A source's state is {"h": header, "s": sections, "i": items by key}; a pydantic item is
{"$m": "module:Class", "v": its JSON} so it comes back as the same model. A diff carries only what
changed: "h" (new header), "s"/"sd" (changed / dropped sections), "add" (new items), "chg" (changed
items; a model item as only its changed fields, {"$p": {...}}), "del" (removed keys), "o" (the item
keys in order, only when the order is not what the rest gives). The state at time T is rebuilt from
the last round at or before T plus the frames after it up to T: at most one round's worth of rows.

Pruning only ever drops whole rounds (everything before a round's first frame), so what is left
can always be rebuilt: the window drops rounds that ended before now - window, the cap drops the
oldest rounds until the file is under 80 % of the cap (and, with one round left, starts a new one).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import re
import sqlite3
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

from pydantic import BaseModel

from cockpit.redact import scrub_values
from cockpit.snapshot import Snapshot, Status, to_jsonable

log = logging.getLogger(__name__)

FORMAT = "cockpit-recording"
VERSION = 2
READS = ("1", "2")  # version 1: every frame compressed on its own
DEFAULT_WINDOW_S = 48 * 3600.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_ROUND_S = 600.0  # a keyframe round at least this often ...
DEFAULT_ROUND_FRAMES = 2000  # ... or after this many diff frames, so a rebuild stays cheap
PRUNE_TO = 0.8  # over the cap, prune down to this share of it
# Item and section models are rebuilt only from these packages (a recording is data, not code).
MODEL_PACKAGES = ("cockpit.", "backends.")

State = dict[str, Any]


class RecordingError(Exception):
    """A file that is not a readable cockpit recording, or a time it does not hold."""


# -- encoding snapshots ---------------------------------------------------------------------------
def _model_path(model: BaseModel) -> str:
    cls = type(model)
    return f"{cls.__module__}:{cls.__qualname__}"


def encode_value(value: Any) -> Any:
    """JSON data; a pydantic model becomes {"$m": "module:Class", "v": its JSON dump}."""
    if isinstance(value, BaseModel):
        return {"$m": _model_path(value), "v": value.model_dump(mode="json")}
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    return to_jsonable(value)


_MODEL_CACHE: dict[str, type[BaseModel] | None] = {}


def _model_class(path: str) -> type[BaseModel] | None:
    if path in _MODEL_CACHE:
        return _MODEL_CACHE[path]
    cls: Any = None
    module_name, _, qualname = path.partition(":")
    if module_name.startswith(MODEL_PACKAGES) and qualname:
        try:
            cls = importlib.import_module(module_name)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError):
            cls = None
    found = cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None
    _MODEL_CACHE[path] = found
    return found


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "$m" in value and "v" in value and len(value) == 2:
            cls = _model_class(str(value["$m"]))
            if cls is not None:
                try:
                    return cls.model_validate(value["v"])
                except ValueError:  # the model changed since recording: keep the data as recorded
                    log.debug("recorded %s no longer validates; kept as data", value["$m"])
            return value["v"]
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def encode_snapshot(snap: Snapshot) -> State:
    header = {
        "status": snap.status.value, "fetched_at": _iso(snap.fetched_at), "error": snap.error,
        "stale": snap.stale, "error_since": _iso(snap.error_since),
        "next_retry_at": _iso(snap.next_retry_at), "hint": snap.hint,
    }
    return {
        "h": header,
        "s": {str(k): encode_value(v) for k, v in snap.sections.items()},
        "i": {str(k): encode_value(v) for k, v in snap.items.items()},
    }


def decode_snapshot(source: str, state: State) -> Snapshot:
    h = state["h"]
    return Snapshot(
        source=source, status=Status(h["status"]), fetched_at=_dt(h["fetched_at"]), error=h["error"],
        stale=h["stale"], error_since=_dt(h["error_since"]), next_retry_at=_dt(h["next_retry_at"]),
        hint=h["hint"],
        items={k: decode_value(v) for k, v in state["i"].items()},
        sections={k: decode_value(v) for k, v in state["s"].items()},
    )


def diff_states(old: State, new: State, deltas: bool = True) -> dict[str, Any] | None:
    """What turns `old` into `new`; None when nothing changed. `deltas`: an integer field that
    changed is stored as its difference (version 2; see `_patch`)."""
    out: dict[str, Any] = {}
    if old["h"] != new["h"]:
        out["h"] = new["h"]
    sections = {k: v for k, v in new["s"].items() if old["s"].get(k) != v}
    if sections:
        out["s"] = sections
    dropped = [k for k in old["s"] if k not in new["s"]]
    if dropped:
        out["sd"] = dropped
    old_items, new_items = old["i"], new["i"]
    added = {k: v for k, v in new_items.items() if k not in old_items}
    changed = {k: _patch(old_items[k], v, deltas) for k, v in new_items.items() if k in old_items and old_items[k] != v}
    removed = [k for k in old_items if k not in new_items]
    for name, part in (("add", added), ("chg", changed), ("del", removed)):
        if part:
            out[name] = part
    # items keep the order the source gave them (tables and JSON show that order)
    order = list(new_items)
    if list(apply_items(old_items, out)) != order:
        out["o"] = order
    return out or None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _patch(old: Any, new: Any, deltas: bool = True) -> Any:
    """A changed model item as only its changed fields ({"$p": {field: value}}): a running job
    whose time used advanced costs a few bytes, not the whole job. With `deltas`, an integer
    field that changed is its difference instead ({"$d": {"time_used_s": 5}}): every running
    job says the same "+5" each poll, which compresses to almost nothing where 500 distinct
    times would not. Anything else: the new value."""
    if (isinstance(old, dict) and isinstance(new, dict) and "$m" in old and old.get("$m") == new.get("$m")
            and isinstance(old.get("v"), dict) and isinstance(new.get("v"), dict)
            and old["v"].keys() == new["v"].keys()):
        values: dict[str, Any] = {}
        differences: dict[str, int] = {}
        for f, v in new["v"].items():
            was = old["v"][f]
            if was == v:
                continue
            if deltas and _is_int(was) and _is_int(v):
                differences[f] = v - was
            else:
                values[f] = v
        patch: dict[str, Any] = {}
        if values:
            patch["$p"] = values
        if differences:
            patch["$d"] = differences
        return patch
    return new


def _unpatch(old: Any, change: Any) -> Any:
    if (isinstance(change, dict) and change and set(change) <= {"$p", "$d"}
            and isinstance(old, dict) and "$m" in old):
        fields = {**old["v"], **change.get("$p", {})}
        for f, difference in change.get("$d", {}).items():
            fields[f] = old["v"][f] + difference
        return {"$m": old["$m"], "v": fields}
    return change


def apply_items(items: Mapping[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(items)
    out.update(diff.get("add", {}))
    for key, change in diff.get("chg", {}).items():
        out[key] = _unpatch(out[key], change)
    for key in diff.get("del", ()):
        out.pop(key, None)
    if "o" in diff:
        out = {key: out[key] for key in diff["o"]}
    return out


def apply_diff(state: State, diff: Mapping[str, Any]) -> State:
    items = apply_items(state["i"], diff)
    sections = dict(state["s"])
    sections.update(diff.get("s", {}))
    for key in diff.get("sd", ()):
        sections.pop(key, None)
    return {"h": diff.get("h", state["h"]), "s": sections, "i": items}


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _pack(raw: bytes, zdict: bytes | None = None) -> bytes:
    """zlib of a frame's JSON; with `zdict` (the previous frame's JSON) only what differs costs."""
    if not zdict:
        return zlib.compress(raw, 6)
    packer = zlib.compressobj(6, zdict=zdict[-ZDICT_MAX:])
    return packer.compress(raw) + packer.flush()


def _unpack_raw(blob: bytes, where: str, zdict: bytes | None = None) -> bytes:
    try:
        if not zdict:
            return zlib.decompress(blob)
        unpacker = zlib.decompressobj(zdict=zdict[-ZDICT_MAX:])
        return unpacker.decompress(blob) + unpacker.flush()
    except (zlib.error, ValueError, TypeError) as exc:
        raise RecordingError(f"{where}: damaged frame ({exc})") from None


def _loads(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise RecordingError(f"{where}: damaged frame ({exc})") from None


ZDICT_MAX = 32 * 1024  # deflate looks back 32 KiB: a longer dictionary is cut to its end


# -- parsing the command line's sizes, durations and times ------------------------------------------
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3}
_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"size {text!r}: expected a number with an optional unit (64MiB, 500MB, 1GiB)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ValueError(f"duration {text!r}: expected a number with s, m, h or d (48h, 90m)")
    return float(match.group(1)) * _DURATION[match.group(2) or "s"]


def parse_when(text: str, now: float) -> float:
    """A moment: ISO 8601 (naive means UTC) or relative to now ('-10m', '-2h', '-30s')."""
    rel = re.fullmatch(r"\s*-\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if rel:
        return now - float(rel.group(1)) * _DURATION[rel.group(2) or "s"]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {text!r}: expected ISO 8601 (2026-11-29T16:00:00Z) or relative (-10m)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def fmt_time(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


# -- the file ---------------------------------------------------------------------------------------
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rounds (id INTEGER PRIMARY KEY, t REAL NOT NULL, first_frame INTEGER NOT NULL);
CREATE TABLE frames (id INTEGER PRIMARY KEY, t REAL NOT NULL, source TEXT NOT NULL,
                     kind TEXT NOT NULL CHECK (kind IN ('key', 'diff')), data BLOB NOT NULL);
CREATE INDEX frames_t ON frames (t);
"""


@dataclass(frozen=True)
class Limits:
    window_s: float = DEFAULT_WINDOW_S
    max_bytes: int = DEFAULT_MAX_BYTES
    round_s: float = DEFAULT_ROUND_S
    round_frames: int = DEFAULT_ROUND_FRAMES


class Recording:
    """One recording file. `Recording.create_or_append` to write, `Recording.open` to read."""

    def __init__(self, path: Path, conn: sqlite3.Connection, limits: Limits, writable: bool) -> None:
        self.path = path
        self.conn = conn
        self.limits = limits
        self.writable = writable
        self.current: dict[str, State] = {}
        self._last_round_t: float | None = None
        self._frames_since_round = 0
        self._last_window_prune = 0.0
        self._warned_cap = False
        # version 2: each source's last frame JSON since its key frame, the next diff's dictionary
        self.chained = True
        self._chain: dict[str, bytes] = {}

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> "Recording":
        """Open for reading; RecordingError names the file when it is not a cockpit recording."""
        path = Path(path)
        if not path.is_file():
            raise RecordingError(f"{path}: no such recording")
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            cls._check(conn, path)
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{path}: not a cockpit recording ({exc})") from None
        rec = cls(path, conn, cls._limits_of(conn), writable=False)
        rec.chained = cls._version(conn) != "1"
        return rec

    @classmethod
    def create_or_append(cls, path: str | Path, limits: Limits = Limits()) -> "Recording":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            if fresh:
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # must precede the first table
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript("BEGIN;" + SCHEMA + "COMMIT;")
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("version", str(VERSION))])
            else:
                cls._check(conn, path)
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 256")  # keep the WAL ~1 MiB, inside the cap
            conn.execute("PRAGMA journal_size_limit = 1048576")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('limits', ?)", (json.dumps(limits.__dict__),))
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{path}: not a cockpit recording ({exc})") from None
        rec = cls(path, conn, limits, writable=True)
        if not fresh:
            rec.chained = cls._version(conn) != "1"  # a version 1 file goes on as version 1
            rec._resume()
        return rec

    @staticmethod
    def _check(conn: sqlite3.Connection, path: Path) -> None:
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{path}: not a cockpit recording ({exc})") from None
        if meta.get("format") != FORMAT:
            raise RecordingError(f"{path}: not a cockpit recording (format {meta.get('format')!r})")
        if meta.get("version") not in READS:
            raise RecordingError(f"{path}: recording version {meta.get('version')} "
                                 f"(this build reads {', '.join(READS)})")

    @staticmethod
    def _version(conn: sqlite3.Connection) -> str:
        row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return str(row[0]) if row else ""

    @staticmethod
    def _limits_of(conn: sqlite3.Connection) -> Limits:
        row = conn.execute("SELECT value FROM meta WHERE key = 'limits'").fetchone()
        try:
            return Limits(**json.loads(row[0])) if row else Limits()
        except (TypeError, ValueError):
            return Limits()

    def _resume(self) -> None:
        """Appending to an existing file: the next frame of each source diffs against its last state."""
        last = self.conn.execute("SELECT max(t) FROM frames").fetchone()[0]
        if last is not None:
            self.current = self.states_at(last)
        # the first record starts a fresh round: what is appended never depends on older rows
        self._last_round_t = None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction (the connection is in autocommit mode so PRAGMAs run outside one)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        if self.writable:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError:
                pass
        self.conn.close()

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------
    def record(self, snapshots: Mapping[str, Snapshot], t: float | None = None) -> int:
        """Record the sources' snapshots as of time t; returns how many frames were written."""
        t = time.time() if t is None else t
        new = {name: encode_snapshot(snap) for name, snap in snapshots.items()}
        written = 0
        with self._tx():
            if (self._last_round_t is None or t - self._last_round_t >= self.limits.round_s
                    or self._frames_since_round >= self.limits.round_frames):
                self.current.update(new)
                self._write_round(t)
                written = len(self.current)
            else:
                for name, state in new.items():
                    old = self.current.get(name)
                    if old is None:
                        self._insert(t, name, "key", state)
                    else:
                        diff = diff_states(old, state, deltas=self.chained)
                        if diff is None:
                            continue
                        self._insert(t, name, "diff", diff)
                        self._frames_since_round += 1
                    self.current[name] = state
                    written += 1
        self.enforce(t)
        return written

    def _insert(self, t: float, source: str, kind: str, data: Any) -> int:
        # like every other file the cockpit writes: no registered secret, JWT or URL password
        raw = _json(scrub_values(data))
        zdict = self._chain.get(source) if self.chained and kind == "diff" else None
        cur = self.conn.execute("INSERT INTO frames (t, source, kind, data) VALUES (?, ?, ?, ?)",
                                (t, source, kind, _pack(raw, zdict)))
        self._chain[source] = raw
        return int(cur.lastrowid or 0)

    def _write_round(self, t: float) -> None:
        first = None
        for name, state in self.current.items():
            row_id = self._insert(t, name, "key", state)
            first = row_id if first is None else first
        if first is not None:
            self.conn.execute("INSERT INTO rounds (t, first_frame) VALUES (?, ?)", (t, first))
        self._last_round_t = t
        self._frames_since_round = 0

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.stat(f"{self.path}{suffix}").st_size
            except FileNotFoundError:
                pass
        return total

    def enforce(self, now: float, force: bool = False) -> None:
        """Apply the window (about once a minute, or when forced) and the cap (always)."""
        changed = False
        if force or now - self._last_window_prune >= 60:
            self._last_window_prune = now
            cutoff = now - self.limits.window_s
            # the last round at or before the cutoff stays: it rebuilds the state at the cutoff
            row = self.conn.execute("SELECT first_frame FROM rounds WHERE t <= ? ORDER BY t DESC LIMIT 1",
                                    (cutoff,)).fetchone()
            if row is not None:
                changed |= self._drop_before(row[0])
        if self.size_bytes() > self.limits.max_bytes:
            self._checkpoint()
            target = self.limits.max_bytes * PRUNE_TO
            while self.size_bytes() > target:
                rounds = self.conn.execute("SELECT first_frame FROM rounds ORDER BY id LIMIT 2").fetchall()
                if len(rounds) < 2:
                    if self._frames_since_round == 0:
                        if not self._warned_cap:
                            log.warning("%s: one keyframe round is larger than the cap (%d bytes)",
                                        self.path, self.limits.max_bytes)
                            self._warned_cap = True
                        break
                    with self._tx():  # one round left and still too big: start a new one
                        self._write_round(now)
                    continue
                self._drop_before(rounds[1][0])
                self._checkpoint()
                changed = True
        elif changed:
            self._checkpoint()

    def _drop_before(self, frame_id: int) -> bool:
        with self._tx():
            n = self.conn.execute("DELETE FROM frames WHERE id < ?", (frame_id,)).rowcount
            self.conn.execute("DELETE FROM rounds WHERE first_frame < ?", (frame_id,))
        return n > 0

    def _checkpoint(self) -> None:
        # the pragma frees one page per step, and Python's execute() steps it once (then fetchall
        # sees no rows): executescript runs it to the end, giving every free page back
        self.conn.executescript("PRAGMA incremental_vacuum;")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reading ------------------------------------------------------------------------------
    def span(self) -> tuple[float, float] | None:
        """First and last moment the recording can rebuild."""
        first = self.conn.execute("SELECT min(t) FROM rounds").fetchone()[0]
        last = self.conn.execute("SELECT max(t) FROM frames").fetchone()[0]
        return None if first is None or last is None else (float(first), float(last))

    def times(self) -> list[float]:
        """Every moment at which something was recorded, in order (replay steps through these)."""
        first = self.conn.execute("SELECT min(t) FROM rounds").fetchone()[0]
        if first is None:
            return []
        return [r[0] for r in self.conn.execute("SELECT DISTINCT t FROM frames WHERE t >= ? ORDER BY t", (first,))]

    def states_at(self, t: float) -> dict[str, State]:
        row = self.conn.execute("SELECT first_frame FROM rounds WHERE t <= ? ORDER BY t DESC LIMIT 1",
                                (t,)).fetchone()
        if row is None:
            span = self.span()
            where = f"it starts at {fmt_time(span[0])}" if span else "it is empty"
            raise RecordingError(f"{self.path}: nothing recorded at or before {fmt_time(t)} ({where})")
        states: dict[str, State] = {}
        chain: dict[str, bytes] = {}  # version 2: each source's previous frame, the diff's dictionary
        for frame_id, source, kind, blob in self.conn.execute(
                "SELECT id, source, kind, data FROM frames WHERE id >= ? AND t <= ? ORDER BY id", (row[0], t)):
            where = f"{self.path} frame {frame_id}"
            if kind != "key" and source not in states:
                raise RecordingError(f"{where}: a diff for {source} with no keyframe")
            zdict = chain.get(source) if self.chained and kind == "diff" else None
            raw = _unpack_raw(blob, where, zdict)
            chain[source] = raw
            data = _loads(raw, where)
            if kind == "key":
                states[source] = data
            elif source in states:
                states[source] = apply_diff(states[source], data)
            else:
                raise RecordingError(f"{self.path} frame {frame_id}: a diff for {source} with no keyframe")
        return states

    def snapshots_at(self, t: float) -> dict[str, Snapshot]:
        """The snapshot of every recorded source as the live hub held it at time t."""
        try:
            return {name: decode_snapshot(name, state) for name, state in self.states_at(t).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(f"{self.path}: damaged state at {fmt_time(t)} ({exc!r})") from None

    def stepper(self) -> "Stepper":
        return Stepper(self)


class Stepper:
    """A cursor over a recording's moments: step, jump to a time; what replay drives."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.moments = recording.times()
        if not self.moments:
            raise RecordingError(f"{recording.path}: the recording is empty")
        self.index = 0

    @property
    def now(self) -> float:
        return self.moments[self.index]

    def snapshots(self) -> dict[str, Snapshot]:
        return self.recording.snapshots_at(self.now)

    def step(self, by: int = 1) -> bool:
        """Move by `by` moments; False at either end (the cursor stays in range)."""
        target = min(max(self.index + by, 0), len(self.moments) - 1)
        moved = target != self.index
        self.index = target
        return moved

    def jump(self, t: float) -> None:
        """To the last moment at or before t (the first moment if t is earlier)."""
        import bisect

        self.index = max(bisect.bisect_right(self.moments, t) - 1, 0)

    def play(self) -> Iterator[tuple[float, float]]:
        """(moment, seconds to wait before it) from the cursor on, in recorded time."""
        while self.step(1):
            yield self.now, self.now - self.moments[self.index - 1]


def default_plan_recording(report_dir: Path) -> Path:
    return Path(report_dir) / "recording.sqlite"


