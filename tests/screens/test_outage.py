"""Outages read well: the backend's own message first, then where; stale rows dimmed with the time
they went stale; a job detail opened during the outage shows the error instead of loading forever.

The error texts are made by the SLURM transport's own code (backends/slurm/transport.py), from
what `squeue` prints when slurmctld is down."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from textual.app import App
from textual.widgets import Static

from backends.slurm.models import Job
from backends.slurm.transport import Completed, _failure
from cockpit.snapshot import Snapshot, Status, utcnow
from screens.status import backend_first, status_line

DOWN = _failure(Completed(argv=("squeue", "--json"), exit_status=1, stdout="",
                          stderr="squeue: error: Unable to contact slurm controller (connect failure)\n"),
                "local (/tmp/lab-x/etc/slurm.conf)")


def test_backend_message_comes_first_then_where():
    text = backend_first(str(DOWN))
    assert text.startswith("squeue: error: Unable to contact slurm controller (connect failure)")
    assert text.endswith("at squeue on local (/tmp/lab-x/etc/slurm.conf)")
    # A message without a "where" stays as it is.
    assert backend_first("connection refused") == "connection refused"


def test_stale_status_says_since_when():
    went_down = utcnow() - timedelta(seconds=30)
    snap = Snapshot(source="slurm", status=Status.ERROR, fetched_at=went_down - timedelta(seconds=5),
                    error=str(DOWN), stale=True, error_since=went_down, items={"1": object()})
    line = status_line(snap)
    assert line.startswith("error: squeue: error: Unable to contact slurm controller")
    assert f"stale since {went_down.astimezone().strftime('%H:%M:%S')}" in line


class HangingRuntime:
    """A controller that does not answer: job_detail never returns; the source reports the outage."""

    def __init__(self) -> None:
        snap = Snapshot(source="slurm", status=Status.ERROR, error=str(DOWN), error_since=utcnow())
        self.hub = type("Hub", (), {"collectors": {"slurm": type("C", (), {"snapshot": snap})()}})()

    @property
    def query(self) -> "HangingRuntime":
        return self

    async def job_detail(self, job_id: int):
        await asyncio.sleep(3600)


async def test_job_detail_during_an_outage_shows_the_error(monkeypatch, tmp_path):
    import screens.slurm_job as slurm_job

    monkeypatch.setattr(slurm_job, "DETAIL_TIMEOUT_S", 0.5)
    job = Job(job_id=7, display_id="7", name="demo", state="PENDING", stdout=str(tmp_path / "none.out"))
    screen = slurm_job.JobScreen(HangingRuntime(), job)

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Host().run_test() as pilot:
        await pilot.pause(0.2)
        shown = str(screen.query_one("#detail", Static).render())
        assert "Unable to contact slurm controller" in shown and "loading" not in shown
        for _ in range(50):
            await pilot.pause(0.1)
            shown = str(screen.query_one("#detail", Static).render())
            if "failed" in shown:
                break
        assert "job detail failed: no answer from SLURM within" in shown
        assert "Unable to contact slurm controller" in shown
