"""The queue read in a worker process (backends/slurm/queue_worker.py): same jobs as the parser,
reuse across replies, recovery from a lost answer or a dead worker, errors that name the reply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backends.slurm import parse
from backends.slurm.queue_worker import QueueWorker
from backends.slurm.source import SlurmSource
from backends.slurm.transport import CliTransport, LocalRunner, SlurmError
from benchmarks.keypress_latency import slurm_stubs

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "slurm" / "recorded"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def reply(release: str, name: str = "squeue_all.json") -> bytes:
    return (RECORDED / release / name).read_bytes()


@pytest.fixture
async def worker():
    w = QueueWorker()
    yield w
    w.close()


@pytest.mark.parametrize("release, name", [("22.05", "squeue_all.json"), ("24.11", "squeue_all.json"),
                                           ("26.05", "rest_slurm_v0.0.45_jobs.json")])
async def test_the_worker_gives_what_the_parser_gives_and_reuses_unchanged_jobs(worker, release, name):
    data = reply(release, name)
    head, jobs = await worker.read(data, "squeue --json", NOW)  # in a thread; the worker starts after
    assert jobs == parse.parse_jobs(json.loads(data), NOW)
    assert parse.api_version(head) == parse.api_version(json.loads(data)) and "jobs" not in head
    pid = worker._proc.pid
    head, in_worker = await worker.read(data, "squeue --json", NOW)
    assert in_worker == jobs and worker.reused == 0  # the worker starts with no memory of the first reply
    assert parse.api_version(head) == parse.api_version(json.loads(data)) and "jobs" not in head
    later = NOW + timedelta(minutes=3)
    _, again = await worker.read(data, "squeue --json", later)
    assert again == parse.parse_jobs(json.loads(data), later)
    assert worker.reused == len(jobs) and worker._proc.pid == pid  # one worker, kept between reads


async def test_a_changed_job_comes_back_new_and_the_rest_are_the_same_items(worker):
    doc = json.loads(reply("24.11"))
    await worker.read(json.dumps(doc).encode(), "squeue", NOW)  # in a thread, then the worker starts
    _, first = await worker.read(json.dumps(doc).encode(), "squeue", NOW)
    doc["jobs"][1]["job_state"] = ["CANCELLED"]
    _, second = await worker.read(json.dumps(doc).encode(), "squeue", NOW)
    assert worker.reused == len(first) - 1
    assert second[1].state == "CANCELLED" and second == parse.parse_jobs(doc, NOW)
    kept = [i for i, job in enumerate(first) if i != 1 and job.state != "RUNNING"]
    assert kept and all(second[i] is first[i] for i in kept)  # not even copied: the same items


async def test_an_answer_the_cockpit_never_took_makes_the_worker_start_afresh(worker):
    data = reply("26.05")
    await worker.read(data, "squeue", NOW)
    await worker.read(data, "squeue", NOW)
    # A fetch cancelled after the worker answered: the worker moved on, the items did not.
    worker._exchange(data, "squeue", worker._token, NOW)
    _, jobs = await worker.read(data, "squeue", NOW)
    assert worker.reused == 0 and jobs == parse.parse_jobs(json.loads(data), NOW)


async def test_a_worker_dead_between_reads_is_replaced_and_parses_afresh(worker):
    data = reply("22.05")
    await worker.read(data, "squeue --json", NOW)
    worker._proc.kill()
    worker._proc.wait()
    _, jobs = await worker.read(data, "squeue --json", NOW)
    assert jobs == parse.parse_jobs(json.loads(data), NOW) and worker.reused == 0


async def test_a_worker_that_dies_while_reading_is_reported_then_replaced(worker, monkeypatch):
    start = worker._start
    # A worker that takes a few bytes and exits, as one killed mid-read would.
    monkeypatch.setattr(worker, "_start", lambda: subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.buffer.read(8)"], stdin=subprocess.PIPE, stdout=subprocess.PIPE))
    await worker.read(reply("22.05"), "squeue --json", NOW)  # in a thread; then that worker starts
    with pytest.raises(RuntimeError, match="the worker process reading squeue --json stopped.*restarts on the next refresh"):
        await worker.read(reply("22.05"), "squeue --json", NOW)
    assert worker._proc is None
    monkeypatch.setattr(worker, "_start", start)
    _, jobs = await worker.read(reply("22.05"), "squeue --json", NOW)  # in a thread again
    assert jobs == parse.parse_jobs(json.loads(reply("22.05")), NOW) and worker._proc is not None


async def test_bad_replies_come_back_as_malformed_replies_naming_them(worker):
    await worker.read(reply("22.05"), "squeue --json", NOW)  # the next ones go to the worker
    assert worker._proc is not None
    with pytest.raises(parse.MalformedReply, match="squeue --json returned malformed JSON"):
        await worker.read(b'{"jobs": [', "squeue --json", NOW)
    with pytest.raises(parse.MalformedReply, match="a job without job_id"):
        await worker.read(b'{"jobs": [{"name": "x"}]}', "squeue --json", NOW)
    head, jobs = await worker.read(b'{"errors": [{"description": "Unable to contact slurm controller"}]}',
                                   "squeue --json", NOW)
    assert jobs is None and head["errors"][0]["description"] == "Unable to contact slurm controller"


async def test_reading_in_a_thread_gives_the_same_jobs():
    data = reply("24.11")
    in_thread = QueueWorker(process=False)
    try:
        for _ in range(2):
            _, jobs = await in_thread.read(data, "squeue", NOW)
            assert jobs == parse.parse_jobs(json.loads(data), NOW) and in_thread._proc is None
        assert in_thread.reused == len(jobs)
    finally:
        in_thread.close()


async def test_close_stops_the_worker(worker):
    await worker.read(reply("22.05"), "squeue", NOW)
    proc = worker._proc
    worker.close()
    assert proc.wait(timeout=10) is not None and worker._proc is None


async def test_the_source_reads_the_cli_queue_through_the_worker(tmp_path, monkeypatch):
    """squeue/scontrol stubs print what Slurm 24.11 printed, scaled to 60 jobs (benchmarks/keypress_latency.py)."""
    monkeypatch.setenv("PATH", f"{slurm_stubs(tmp_path, 60)}{os.pathsep}{os.environ['PATH']}")
    # The stubs alternate between two generations every 2 s; answer the first one both times.
    (tmp_path / "squeue.1.json").write_bytes((tmp_path / "squeue.0.json").read_bytes())
    source = SlurmSource(CliTransport(LocalRunner(None)))
    try:
        first = await source.fetch()  # in a thread
        await source.fetch()  # in the worker, started after the first
        third = await source.fetch()
        assert len(first.items) == len(third.items) == 60 and source._queue._proc is not None
        assert source._queue.reused == 60
        assert first.sections["cluster"]["api_version"] == "v0.0.42" and first.sections["nodes"]
    finally:
        await source.close()


async def test_slurm_errors_in_the_queue_reply_fail_the_fetch_in_the_transports_words(tmp_path, monkeypatch):
    bin_dir = slurm_stubs(tmp_path, 5)
    for gen in (0, 1):
        (tmp_path / f"squeue.{gen}.json").write_text(
            '{"errors": [{"description": "Unable to contact slurm controller (connect failure)"}], "jobs": []}')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    source = SlurmSource(CliTransport(LocalRunner(None)))
    try:
        with pytest.raises(SlurmError, match="squeue --json on local: Slurm reported 'Unable to contact slurm "
                                             r"controller \(connect failure\)'"):
            await source.fetch()
    finally:
        await source.close()
