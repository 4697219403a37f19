"""Snapshot items of the `provisioning` source (field names are part of the JSON contract)."""

from __future__ import annotations

from cockpit.items import Item

# Cell states of the hosts x tasks grid, in the order a recap counts them.
STATES = ("running", "ok", "changed", "failed", "ignored", "skipped", "unreachable")


class TaskRow(Item):
    """One host's result for one task of a run."""

    run_id: str
    host: str
    task_index: int  # position of the task in the run (playbook order)
    task: str
    play: str = ""
    action: str = ""  # module, e.g. ansible.builtin.template
    status: str = "running"  # one of STATES
    changed: bool = False
    message: str = ""  # why it failed / was unreachable / skipped (redacted by no_log where set)
    diff: str = ""  # unified diff (check mode with --diff, or a real change)
    duration_s: float | None = None

    def key(self) -> str:
        return f"{self.run_id}/{self.host}/{self.task_index:05d}"


class RunInfo(Item):
    """One playbook run, running or finished."""

    run_id: str
    playbook: str
    inventory: str
    check: bool = False
    limit: str | None = None
    status: str = "starting"  # starting | running | successful | failed | canceled | timeout | error
    rc: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    hosts: int = 0
    tasks: int = 0
    failed_tasks: int = 0
    # host -> {ok, changed, failed, skipped, unreachable, ignored, rescued}, from the play recap
    stats: dict[str, dict[str, int]] = {}
    artifact_dir: str | None = None
    error: str | None = None

    def key(self) -> str:
        return self.run_id

    @property
    def finished(self) -> bool:
        return self.status in ("successful", "failed", "canceled", "timeout", "error")
