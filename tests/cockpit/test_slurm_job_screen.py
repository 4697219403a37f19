"""The job detail screen: fields, batch script, node list and a live log tail of a real file.

The runtime is a real one (real Dispatcher and query seam); only the SLURM adapter's `job_detail`
answers a fixed record, and the log is followed by the real follower (backends/slurm/logtail.py).
The live lab tests cover the adapter end to end."""

from __future__ import annotations

import asyncio

from textual.app import App
from textual.widgets import Log, Static

from backends.slurm.models import Job
from backends.slurm.source import SlurmSource
from cockpit.actions import ActionRegistry
from cockpit.audit import AuditLog
from cockpit.config import parse_config
from cockpit.hub import Collector, Hub
from cockpit.ops import slurm as slurm_ops
from cockpit.runtime import CockpitRuntime


class FixedDetailSlurm(SlurmSource):
    async def job_detail(self, job_id: int) -> dict:
        return {"fields": {"JobId": str(job_id), "JobName": "demo"}, "nodes": ["node1", "node2"],
                "script": "#!/bin/bash\necho hello\n", "script_note": None,
                "steps": [{"step_id": "7.batch", "name": "batch", "state": "CANCELLED", "exit_code": "0:15",
                           "elapsed_s": 69, "nodes": "node1"}]}


def real_runtime(tmp_path) -> CockpitRuntime:
    registry = ActionRegistry()
    slurm_ops.register(registry)
    return CockpitRuntime(loaded=parse_config("", "test"), hub=Hub([Collector(FixedDetailSlurm(transport=None))]),
                          registry=registry, audit=AuditLog(tmp_path / "audit.jsonl"))


async def test_job_screen_shows_detail_and_follows_the_log(tmp_path):
    from screens.slurm_job import JobScreen

    out = tmp_path / "slurm-7.out"
    out.write_text("first\n")
    job = Job(job_id=7, display_id="7", name="demo", state="RUNNING", stdout=str(out), stderr=str(out))
    runtime = real_runtime(tmp_path)
    screen = JobScreen(runtime, job)

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Host().run_test() as pilot:
        await pilot.pause(0.5)
        with out.open("a") as fh:
            fh.write("second\n")
        for _ in range(200):  # generous: CI shares 2 cores
            await pilot.pause(0.1)
            if screen.lines_shown >= 2:
                break
        log = screen.query_one("#log", Log)
        assert list(log.lines) == ["first", "second"]
        detail = str(screen.query_one("#detail", Static).render())
        assert "node1, node2" in detail
        assert "ExitCode" in detail and "7.batch" in detail and "0:15" in detail and "1:09" in detail
        assert "echo hello" in str(screen.query_one("#script", Static).render())
    # Reads go through the query seam, not the action layer: nothing was audited.
    assert list(runtime.audit.records()) == []


async def test_follow_file_polling_fallback_sees_appends(tmp_path):
    """Without inotify (NFS/BeeGFS), the poll still delivers lines, including a file that appears later."""
    from backends.slurm.logtail import follow_file

    path = tmp_path / "later.out"
    got: list[str] = []

    async def reader() -> None:
        async for line in follow_file(str(path), poll_s=0.1, use_inotify=False):
            got.append(line)
            if len(got) == 3:
                return

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.3)
    path.write_text("a\nb")  # 'b' has no newline yet: not a line
    await asyncio.sleep(0.3)
    assert got == ["a"]
    with path.open("a") as fh:
        fh.write("\nc\n")
    await asyncio.wait_for(task, 5)
    assert got == ["a", "b", "c"]
