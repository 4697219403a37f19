"""The flight recorder: what the recording gives back at T is what the hub held at T, pruning
keeps the window and the cap, and a file that is not a recording is refused by name."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backends.slurm.parse import parse_jobs
from cockpit.hub import Collector, Hub, Timing
from cockpit.oneshot import snapshot_document
from cockpit.recorder import (Limits, Recording, RecordingError, apply_diff, diff_states, encode_snapshot,
                              parse_when)
from cockpit.recorder_tap import HubTap
from cockpit.snapshot import FetchResult, Snapshot, Status

SQUEUE = Path(__file__).resolve().parents[1] / "fixtures" / "slurm" / "v0.0.38" / "squeue.json"
_SQUEUE_TEXT = SQUEUE.read_text()
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def queue_at(step: int, n: int = 40) -> Snapshot:
    """A SLURM snapshot from the real squeue fixture (Slurm 22.05), scaled to n jobs, as it looks
    `step` polls (5 s each) later: running jobs' time used advances, one job a poll moves on
    (PENDING -> RUNNING -> COMPLETED, a completed one leaves the queue and a new one arrives)."""
    doc = json.loads(_SQUEUE_TEXT)
    seeds = doc["jobs"]
    jobs = []
    for i in range(step, n + step):  # job i leaves after n polls; job n+step arrives
        job = copy.copy(seeds[i % len(seeds)])  # only top-level fields change below
        job["job_id"] = 1000 + i
        age = step - (i - n)  # polls since this job arrived
        if job["job_state"] == "PENDING" and age > n // 2:
            job["job_state"] = "RUNNING"
        jobs.append(job)
    doc["jobs"] = jobs
    now = T0 + timedelta(seconds=5 * step)
    items = parse_jobs(doc, now)
    return Snapshot(source="slurm", status=Status.OK, fetched_at=now, items={j.key(): j for j in items},
                    sections={"partitions": {}, "note": f"poll {step}"})


def test_diff_is_keyed_added_changed_removed() -> None:
    a, b = encode_snapshot(queue_at(0)), encode_snapshot(queue_at(1))
    diff = diff_states(a, b)
    assert diff is not None
    assert list(diff["add"]) == ["1040"] and diff["del"] == ["1000"]
    # running jobs' time used advanced: stored as that field only, not the whole job, and as its
    # difference (every running job's is the same 5 s, which compresses to almost nothing)
    changes = list(diff["chg"].values())
    assert changes and all(set(change) <= {"$p", "$d"} for change in changes)
    assert sum(1 for c in changes if c == {"$d": {"time_used_s": 5}}) >= 10
    # one job also started: its state and reason as values, its start and time used as differences
    assert all(len(c.get("$p", {})) + len(c.get("$d", {})) <= 4 for c in changes)
    assert apply_diff(a, diff) == b
    assert diff_states(a, a) is None
    # version 1 files go on without differences: the new values themselves
    plain = diff_states(a, b, deltas=False)
    assert plain is not None and all(set(c) == {"$p"} for c in plain["chg"].values())
    assert sum(1 for c in plain["chg"].values() if set(c["$p"]) == {"time_used_s"}) >= 10
    assert apply_diff(a, plain) == b


def test_round_trip_of_the_default_config_and_a_changing_queue(tmp_path: Path, embedded_snapshots) -> None:
    live: dict[float, dict[str, Snapshot]] = {}
    with Recording.create_or_append(tmp_path / "r.sqlite", Limits(round_s=30)) as rec:
        state = dict(embedded_snapshots)
        for step in range(25):
            t = (T0 + timedelta(seconds=5 * step)).timestamp()
            state["slurm"] = queue_at(step)
            if step == 10:  # a source fails and keeps its data, marked stale
                state["vms"] = state["vms"].evolve(status=Status.ERROR, error="libvirt gone", stale=True)
            rec.record(state, t)
            live[t] = dict(state)
        for t, expected in live.items():
            got = rec.snapshots_at(t)
            assert snapshot_document(got) == snapshot_document(expected)
        # between two moments: the earlier one
        t5 = (T0 + timedelta(seconds=27)).timestamp()
        assert snapshot_document(rec.snapshots_at(t5)) == snapshot_document(live[(T0 + timedelta(seconds=25)).timestamp()])
        # items come back as their models, so the table text is the same too
        from screens.text_table import render_snapshots

        last = max(live)
        assert render_snapshots(rec.snapshots_at(last)) == render_snapshots(live[last])
        with pytest.raises(RecordingError, match="nothing recorded at or before"):
            rec.snapshots_at(T0.timestamp() - 1)


@pytest.fixture(scope="module")
def embedded_snapshots() -> dict[str, Snapshot]:
    """One real fetch of every source of the embedded default config (the demo host)."""
    from cockpit.config import load_config
    from cockpit.oneshot import collect

    return asyncio.run(collect(load_config(None), timeout=20))


def test_window_keeps_only_the_last_rounds_and_what_is_left_rebuilds(tmp_path: Path) -> None:
    limits = Limits(window_s=600, round_s=120)
    with Recording.create_or_append(tmp_path / "r.sqlite", limits) as rec:
        last = None
        for step in range(0, 600):  # 50 minutes of 5 s polls
            last = (T0 + timedelta(seconds=5 * step)).timestamp()
            rec.record({"slurm": queue_at(step, n=10)}, last)
        first, end = rec.span()
        assert end == last
        # the oldest kept round is at most one round older than the window
        assert last - limits.window_s - limits.round_s <= first <= last - limits.window_s
        expected = queue_at(int((first - T0.timestamp()) / 5), n=10)
        assert snapshot_document(rec.snapshots_at(first)) == snapshot_document({"slurm": expected})


def test_the_cap_holds_and_the_newest_state_survives(tmp_path: Path) -> None:
    cap = 64 * 1024
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path, Limits(max_bytes=cap, round_s=60)) as rec:
        sizes = []
        for step in range(400):
            rec.record({"slurm": queue_at(step, n=80)}, (T0 + timedelta(seconds=5 * step)).timestamp())
            sizes.append(rec.size_bytes())
        assert max(sizes) > cap * 0.8  # the cap was reached, so pruning ran
        assert max(sizes) <= cap
        first, last = rec.span()
        assert first > T0.timestamp()  # old rounds were dropped
        rec.enforce(last + 1, force=True)
        # the pages of dropped rounds went back to the file system, not just onto the free list
        assert rec.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        # pruned down to 80 % of the cap, not to nothing: more than one round is kept
        assert last - first >= 60 and sizes[-1] > cap * 0.4
        assert snapshot_document(rec.snapshots_at(last)) == snapshot_document({"slurm": queue_at(399, n=80)})
        assert snapshot_document(rec.snapshots_at(first)) == snapshot_document(
            {"slurm": queue_at(int((first - T0.timestamp()) / 5), n=80)})


def test_a_foreign_or_corrupt_file_is_refused_by_name(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(RecordingError, match="junk.sqlite: not a cockpit recording"):
        Recording.open(junk)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(RecordingError, match="other.sqlite: not a cockpit recording"):
        Recording.open(other)
    with pytest.raises(RecordingError, match="other.sqlite: not a cockpit recording"):
        Recording.create_or_append(other)
    with pytest.raises(RecordingError, match="no such recording"):
        Recording.open(tmp_path / "missing.sqlite")
    # a recording whose frame data was damaged
    good = tmp_path / "good.sqlite"
    with Recording.create_or_append(good) as rec:
        rec.record({"slurm": queue_at(0)}, T0.timestamp())
    conn = sqlite3.connect(good)
    conn.execute("UPDATE frames SET data = x'00ff00'")
    conn.commit()
    conn.close()
    with Recording.open(good) as rec, pytest.raises(RecordingError, match="damaged frame"):
        rec.snapshots_at(T0.timestamp())


def test_appending_continues_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path) as rec:
        rec.record({"slurm": queue_at(0)}, T0.timestamp())
    t1 = (T0 + timedelta(seconds=5)).timestamp()
    with Recording.create_or_append(path) as rec:
        rec.record({"slurm": queue_at(1)}, t1)
    with Recording.open(path) as rec:
        assert rec.times() == [T0.timestamp(), t1]
        assert snapshot_document(rec.snapshots_at(T0.timestamp())) == snapshot_document({"slurm": queue_at(0)})
        assert snapshot_document(rec.snapshots_at(t1)) == snapshot_document({"slurm": queue_at(1)})


def test_stepper_steps_and_jumps(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path) as rec:
        for step in range(5):
            rec.record({"slurm": queue_at(step)}, T0.timestamp() + 5 * step)
    with Recording.open(path) as rec:
        stepper = rec.stepper()
        assert stepper.now == T0.timestamp()
        assert not stepper.step(-1)
        assert stepper.step(2) and stepper.now == T0.timestamp() + 10
        stepper.jump(T0.timestamp() + 17)
        assert stepper.now == T0.timestamp() + 15
        assert snapshot_document(stepper.snapshots()) == snapshot_document({"slurm": queue_at(3)})
        assert [gap for _t, gap in stepper.play()] == [5.0]


class Counter:
    """A source whose items change on every fetch."""

    name = "gpus"

    def __init__(self) -> None:
        self.n = 0

    async def fetch(self) -> FetchResult:
        self.n += 1
        return FetchResult(items={f"g{i}": {"gpu": i, "util": (self.n * (i + 1)) % 100} for i in range(self.n % 4 + 1)})


def test_the_tap_records_what_the_live_hub_published(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    clock = iter(range(1_000_000, 2_000_000)).__next__  # one distinct second per publish
    seen: dict[float, dict] = {}

    async def go() -> None:
        hub = Hub([Collector(Counter(), Timing(interval=0.01, min_interval=0.0), always=True)])
        with Recording.create_or_append(path) as rec:
            tap = HubTap(hub, rec, clock=lambda: float(clock()))
            tap.start()
            # what the hub holds at each recorded moment, captured in publish order
            hub.subscribe_all(lambda snap: seen.__setitem__(len(seen), snapshot_document({"gpus": snap})))
            async with hub.running():
                while len(seen) < 12:
                    await asyncio.sleep(0.01)
            await tap.stop()

    asyncio.run(go())
    with Recording.open(path) as rec:
        moments = rec.times()
        assert len(moments) >= 13  # the pending state at start, then every publish
        for index, expected in seen.items():
            assert snapshot_document(rec.snapshots_at(moments[index + 1])) == expected


def test_parse_when() -> None:
    now = 1_000_000.0
    assert parse_when("-10m", now) == now - 600
    assert parse_when("2026-11-29T12:00:00Z", now) == T0.timestamp()
    assert parse_when("2026-11-29T12:00:00", now) == T0.timestamp()
    with pytest.raises(ValueError, match="time 'yesterday'"):
        parse_when("yesterday", now)


def test_a_prune_gives_the_pages_back_and_keeps_what_fits(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path, Limits(max_bytes=10**9, round_s=60)) as rec:
        # 20 minutes, a round a minute; 300 jobs so that the data, not SQLite's few fixed pages, fills the file
        for step in range(240):
            rec.record({"slurm": queue_at(step, n=300)}, (T0 + timedelta(seconds=5 * step)).timestamp())
        rec.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL folded in: the data's own size
        full = rec.size_bytes()
        first0, last = rec.span()
        rec.limits = Limits(max_bytes=full // 2, round_s=60)
        rec.enforce(last, force=True)
        assert rec.size_bytes() <= full // 2 * 0.8
        assert rec.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        first, _ = rec.span()
        # about half the rounds fit in half the space: far more than the last one is kept
        assert (last - first) >= 0.25 * (last - first0)


def test_no_secret_is_written_to_the_file(tmp_path: Path) -> None:
    import zlib

    from cockpit.redact import register_secret

    register_secret("s3cr3t-token-value")
    snap = Snapshot(source="mlflow", status=Status.ERROR, error="GET http://alice:hunter22@mlflow:5000/api failed",
                    items={"r1": {"run": "r1", "note": "token s3cr3t-token-value"}},
                    sections={"tracking_uri": "http://alice:hunter22@mlflow:5000"})
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path) as rec:
        rec.record({"mlflow": snap}, T0.timestamp())
        rec.record({"mlflow": snap.evolve(items={"r1": {"run": "r1", "note": "again s3cr3t-token-value"}})},
                   T0.timestamp() + 5)
    conn = sqlite3.connect(path)
    raws: list[bytes] = []
    for kind, blob in conn.execute("SELECT kind, data FROM frames ORDER BY id"):
        # one source: a diff's dictionary is the frame before it (see the recorder's version 2)
        unpacker = zlib.decompressobj(zdict=raws[-1]) if kind == "diff" else zlib.decompressobj()
        raws.append(unpacker.decompress(blob) + unpacker.flush())
    conn.close()
    text = b"".join(raws)
    assert b"again" in text and b"mlflow:5000" in text
    assert b"hunter22" not in text and b"s3cr3t-token-value" not in text


V1_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "recorder" / "v1-slurm-4-polls.sqlite"


def test_a_version_1_recording_is_read_and_appended_to_as_version_1(tmp_path: Path) -> None:
    """Recordings written before the chained compression (version 1) still replay, and a build
    appending to one keeps writing frames that version 1 readers can decode on their own."""
    import shutil
    import zlib

    path = tmp_path / "v1.sqlite"
    shutil.copyfile(V1_FIXTURE, path)
    moments = [(T0 + timedelta(seconds=5 * step)).timestamp() for step in range(4)]
    with Recording.open(path) as rec:
        assert rec.times() == moments
        for step, t in enumerate(moments):
            assert snapshot_document(rec.snapshots_at(t)) == snapshot_document({"slurm": queue_at(step, n=10)})
    t4, t5 = moments[-1] + 5, moments[-1] + 10
    with Recording.create_or_append(path, Limits(round_s=3600)) as rec:
        rec.record({"slurm": queue_at(4, n=10)}, t4)  # a fresh round: a key frame
        rec.record({"slurm": queue_at(5, n=10)}, t5)  # then a diff, in version 1's coding
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0] == "1"
    for (blob,) in conn.execute("SELECT data FROM frames WHERE t >= ?", (t4,)):
        assert b'"$d"' not in zlib.decompress(blob)  # no dictionary needed, no differences used
    conn.close()
    with Recording.open(path) as rec:
        assert snapshot_document(rec.snapshots_at(t5)) == snapshot_document({"slurm": queue_at(5, n=10)})
        assert snapshot_document(rec.snapshots_at(moments[1])) == snapshot_document({"slurm": queue_at(1, n=10)})


def test_version_2_diffs_need_their_chain_and_are_much_smaller(tmp_path: Path) -> None:
    """A version 2 diff is compressed against the source's previous frame: alone it does not
    decode, and with its chain a 5 s poll of 300 jobs costs a fraction of the key frame."""
    import zlib

    path = tmp_path / "v2.sqlite"
    with Recording.create_or_append(path) as rec:
        for step in range(6):
            rec.record({"slurm": queue_at(step, n=300)}, (T0 + timedelta(seconds=5 * step)).timestamp())
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT kind, data FROM frames ORDER BY id").fetchall()
    conn.close()
    assert [kind for kind, _ in rows] == ["key"] + ["diff"] * 5
    key_size = len(rows[0][1])
    # once the chain holds a diff like it: under 1/20 of the key frame (version 1's coding: about 1/8)
    assert all(len(blob) < key_size / 20 for _, blob in rows[2:])
    with pytest.raises(zlib.error):
        zlib.decompress(rows[2][1])
