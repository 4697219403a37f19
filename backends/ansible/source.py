"""The `provisioning` source: playbook runs, live, as snapshots in the hub.

Items are the current run's host x task cells (`TaskRow`); sections:
    runs    every run kept in memory, newest first (`RunInfo`)
    run     the current run (the one running, else the newest), or null
    tasks   the current run's tasks in playbook order: index, name, play, action
    hosts   per host: ok, changed, failed, skipped, unreachable, ignored (live, then the recap)
    events  the last events of the current run: counter, event, host, task (counter order)

While a run goes, every folded event marks the source dirty and a push follows within
`flush_s` (coalesced, so a 5000-cell run does not rebuild its snapshot per event); the end of a
run is pushed at once. `attach(runtime)` adds the source to a runtime's hub and adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, Callable

from backends.ansible.events import RunState
from backends.ansible.runner import PlaybookRunner
from cockpit import paths
from cockpit.snapshot import FetchResult

SOURCE_NAME = "provisioning"
ADAPTER_NAME = "ansible"


class ProvisioningSource:
    name = SOURCE_NAME

    def __init__(self, runner_factory: Callable[[Callable[[RunState], None]], PlaybookRunner], *,
                 flush_s: float = 0.1, keep_in_memory: int = 20, settings: Any = None) -> None:
        self.runner = runner_factory(self._changed)
        self.settings = settings
        self.flush_s = flush_s
        self.keep_in_memory = keep_in_memory
        self.selected: str | None = None  # run shown; None: the running one, else the newest
        self._pushers: list[Callable[[FetchResult], None]] = []
        self._flush_handle: asyncio.TimerHandle | None = None

    # -- hub protocol -------------------------------------------------------------------------
    async def fetch(self) -> FetchResult:
        return self.result()

    async def watch(self, push: Callable[[FetchResult], None], poke: Callable[[], None]) -> None:
        self.bind(push)
        try:
            await asyncio.Event().wait()  # pushes come from runs; nothing to poll
        finally:
            self.unbind(push)

    def bind(self, push: Callable[[FetchResult], None]) -> None:
        if push not in self._pushers:
            self._pushers.append(push)

    def unbind(self, push: Callable[[FetchResult], None]) -> None:
        with contextlib.suppress(ValueError):
            self._pushers.remove(push)

    # -- state -> snapshot --------------------------------------------------------------------
    def current(self) -> RunState | None:
        runs = self.runner.runs
        if self.selected and self.selected in runs:
            return runs[self.selected].state
        if not runs:
            return None
        running = [h.state for h in runs.values() if not h.state.finished]
        return running[-1] if running else list(runs.values())[-1].state

    def result(self) -> FetchResult:
        state = self.current()
        runs = [h.state.info() for h in reversed(list(self.runner.runs.values()))]
        if state is None:
            return FetchResult.of([], runs=runs, run=None, tasks=[], hosts=[], events=[])
        return FetchResult.of(state.rows(), runs=runs, run=state.info(), tasks=state.task_list(),
                              hosts=state.host_recap(), events=list(state.events))

    def _changed(self, state: RunState) -> None:
        if not self._pushers:
            return
        if state.finished:
            self.runner.forget_finished(self.keep_in_memory)
            self._flush()
            return
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(self.flush_s, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        result = self.result()
        for push in list(self._pushers):
            push(result)

    def select(self, run_id: str | None) -> None:
        self.selected = run_id
        if self._pushers:
            self._flush()

    async def close(self) -> None:
        for handle in self.runner.runs.values():
            if not handle.state.finished:
                handle.cancel_requested.set()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None


def default_project_dir() -> Path:
    return paths.PROVISIONING_DIR / "ansible"


def build_source(loaded: Any, **overrides: Any) -> ProvisioningSource:
    settings = loaded.config.cockpit.ansible
    base = Path(settings.private_data_dir) if settings.private_data_dir else paths.state_dir() / "ansible"
    project = Path(settings.project_dir) if settings.project_dir else default_project_dir()
    envvars = {} if settings.host_key_checking else {"ANSIBLE_HOST_KEY_CHECKING": "False"}

    def factory(on_change: Callable[[RunState], None]) -> PlaybookRunner:
        return PlaybookRunner(base, project, keep=settings.keep_artifacts, forks=settings.forks,
                              envvars=envvars, on_change=on_change)

    return ProvisioningSource(factory, settings=settings, **overrides)
