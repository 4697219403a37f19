"""Playbook runs on ansible-runner, in worker threads, with events handed to the event loop.

ansible-runner calls our event handler from its own thread as each event is parsed from the
running ansible-playbook; the handler only forwards the event to the loop with
`call_soon_threadsafe`, which keeps them in order, and the loop folds it into the run's state.
Nothing here blocks the loop: preparing a run (it writes files) happens in a worker thread.

Every run gets its own private data dir (`<base>/runs/<run_id>`), so concurrent runs never
share env files; rotation keeps the newest `keep` finished run dirs and never a running one.

Secrets: extra variables go to ansible-playbook as `-e @FILE` (a mode-0600 file outside the
artifacts, removed when the run ends), never on its command line; secret-looking variables of
the cockpit's own environment (SLURM_JWT, tokens, passwords) are not handed to the playbook; and
when a run ends its artifacts lose the recorded environment and any registered secret value.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from backends.ansible.events import RunState
from cockpit.redact import is_secret_key, register_secrets_in, scrub

log = logging.getLogger(__name__)

FINAL = ("successful", "failed", "canceled", "timeout", "error")


class RunError(Exception):
    """A run could not start or is unknown; the message says what to do."""


@dataclass
class RunHandle:
    state: RunState
    done: asyncio.Future[RunState]
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    private_dir: Path | None = None

    @property
    def run_id(self) -> str:
        return self.state.run_id


def _forget_vars(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _forget_stale_vars(folder: Path) -> None:
    """Vars files of cockpit processes that died mid-run (kill -9) hold secrets: remove them."""
    for path in folder.glob("*.json"):
        pid = path.name.rsplit(".", 2)[-2] if path.name.count(".") >= 2 else ""
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _forget_vars(path)
        except PermissionError:
            pass


def _clean_artifacts(artifact_dir: Path) -> None:
    """Drop the recorded environment from `command` and scrub registered secrets from every
    artifact file (a task that printed one, the command line)."""
    import json

    command = artifact_dir / "command"
    try:
        doc = json.loads(command.read_text())
        if isinstance(doc, dict) and "env" in doc:
            doc.pop("env")
            command.write_text(json.dumps(doc))
    except (OSError, ValueError):
        pass
    for path in artifact_dir.rglob("*"):
        try:
            if not path.is_file() or path.stat().st_size > 16 * 1024 * 1024:
                continue
            text = path.read_text(errors="surrogateescape")
            clean = scrub(text, assignments=False)
            if clean != text:
                path.write_text(clean, errors="surrogateescape")
        except OSError:
            continue


def _venv_path() -> str:
    """ansible-runner starts `ansible-playbook` by name: put this interpreter's bin dir first
    so the one installed beside ansible-runner is found even when the venv is not activated."""
    bin_dir = str(Path(sys.executable).parent)
    current = os.environ.get("PATH", "")
    return current if current.split(os.pathsep)[:1] == [bin_dir] else os.pathsep.join([bin_dir, current])


class PlaybookRunner:
    def __init__(
        self,
        base_dir: str | os.PathLike[str],
        project_dir: str | os.PathLike[str],
        *,
        keep: int = 10,
        forks: int = 5,
        envvars: Mapping[str, str] | None = None,
        on_change: Callable[[RunState], None] | None = None,
        cancel_poll_s: float = 0.25,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.project_dir = Path(project_dir).resolve()
        self.keep = keep
        self.forks = forks
        self.envvars = dict(envvars or {})
        self.on_change = on_change or (lambda state: None)
        self.cancel_poll_s = cancel_poll_s
        self.runs: dict[str, RunHandle] = {}

    # -- starting ---------------------------------------------------------------------------
    def resolve_playbook(self, playbook: str) -> str:
        """A playbook named relative to the project dir (`slurm.yml`) or an absolute path."""
        path = Path(playbook)
        full = path if path.is_absolute() else self.project_dir / path
        if not full.is_file():
            known = ", ".join(sorted(p.name for p in self.project_dir.glob("*.yml"))) or "none"
            raise RunError(f"playbook {playbook!r} not found in {self.project_dir} (known: {known})")
        return str(full)

    async def start(
        self,
        playbook: str,
        inventory: str | os.PathLike[str],
        *,
        check: bool = False,
        diff: bool | None = None,
        limit: str | None = None,
        tags: str | None = None,
        extravars: Mapping[str, Any] | None = None,
        timeout_s: int | None = None,
        run_id: str | None = None,
    ) -> RunHandle:

        playbook_path = self.resolve_playbook(playbook)
        inventory = str(inventory)
        if not Path(inventory).exists():
            raise RunError(f"inventory {inventory} does not exist (generate it: cockpit inventory -o FILE)")
        run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        if run_id in self.runs:
            raise RunError(f"run {run_id} exists already")
        loop = asyncio.get_running_loop()
        private = self.base_dir / "runs" / run_id
        state = RunState(run_id=run_id, playbook=playbook, inventory=inventory, check=check, limit=limit,
                         artifact_dir=str(private / "artifacts" / run_id))
        handle = RunHandle(state=state, done=loop.create_future(), private_dir=private)
        self.runs[run_id] = handle

        def on_event(event: dict[str, Any]) -> bool:  # runner thread
            loop.call_soon_threadsafe(self._apply, handle, event)
            return True  # keep it in the artifacts

        def on_status(data: dict[str, Any], runner_config: Any) -> None:  # runner thread
            loop.call_soon_threadsafe(self._status, handle, data.get("status"))

        vars_file = self._write_vars(run_id, extravars or {})

        def on_finished(runner: Any) -> None:  # runner thread, after the last event
            _forget_vars(vars_file)
            _clean_artifacts(Path(state.artifact_dir))
            loop.call_soon_threadsafe(self._finish, handle, runner.status, runner.rc, None)

        cmdline = []
        if check:
            cmdline.append("--check")
        if diff if diff is not None else check:
            cmdline.append("--diff")
        if tags:
            cmdline += ["--tags", tags]
        kwargs: dict[str, Any] = dict(
            private_data_dir=str(private), project_dir=str(self.project_dir), playbook=playbook_path,
            inventory=inventory, ident=run_id, limit=limit, forks=self.forks, quiet=True,
            extravars=str(vars_file), cmdline=" ".join(cmdline) or None,
            envvars={"PATH": _venv_path(), "ANSIBLE_ROLES_PATH": str(self.project_dir / "roles"),
                     "ANSIBLE_NOCOLOR": "1", **{k: v for k, v in self.envvars.items() if not is_secret_key(k)}},
            settings={"pexpect_timeout": self.cancel_poll_s},
            suppress_env_files=True,  # extravars may hold secrets: keep them off the disk
            event_handler=on_event, status_handler=on_status, finished_callback=on_finished,
            cancel_callback=handle.cancel_requested.is_set,
        )
        if timeout_s:
            kwargs["timeout"] = timeout_s

        def prepare() -> None:  # writes files and forks: keep it off the loop
            from ansible_runner.interface import init_runner

            private.mkdir(parents=True, exist_ok=True)
            runner = init_runner(**kwargs)
            # ansible-runner seeds the child's environment with ours and records it in the
            # artifacts: leave the cockpit's secrets out of both.
            runner.config.env = {k: v for k, v in runner.config.env.items() if not is_secret_key(k)}
            threading.Thread(target=runner.run, name=f"ansible-{run_id}", daemon=True).start()

        try:
            await asyncio.to_thread(prepare)
        except Exception as exc:
            _forget_vars(vars_file)
            self._finish(handle, "error", None, f"could not start ansible-playbook: {exc}")
            raise RunError(f"could not start {playbook}: {exc}") from exc
        self.on_change(state)
        await asyncio.to_thread(self.rotate)
        return handle

    def _write_vars(self, run_id: str, extravars: Mapping[str, Any]) -> Path:
        """All extra variables in one mode-0600 JSON file (ansible reads `-e @FILE`)."""
        import json

        register_secrets_in(extravars)
        folder = self.base_dir / "vars"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        _forget_stale_vars(folder)
        path = folder / f"{run_id}.{os.getpid()}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(dict(extravars), fh, default=str)
        return path

    # -- loop-side folding ------------------------------------------------------------------
    def _apply(self, handle: RunHandle, event: dict[str, Any]) -> None:
        if handle.state.finished:
            return
        try:
            handle.state.apply(event)
        except Exception:  # one odd event must not lose the run
            log.exception("cannot fold ansible event %s", event.get("event"))
        self.on_change(handle.state)

    def _status(self, handle: RunHandle, status: str | None) -> None:
        if status in ("starting", "running") and not handle.state.finished:
            handle.state.status = "running"
            self.on_change(handle.state)

    def _finish(self, handle: RunHandle, status: str | None, rc: int | None, error: str | None) -> None:
        if handle.state.finished:
            return
        status = status if status in FINAL else ("error" if error else "failed")
        if status in ("failed", "error") and not handle.state.tasks and not error:
            error = "\n".join(handle.state.stdout_tail) or f"ansible-playbook exited with rc={rc} before any task ran"
        handle.state.finish(status, rc, error)
        if not handle.done.done():
            handle.done.set_result(handle.state)
        self.on_change(handle.state)

    # -- control ----------------------------------------------------------------------------
    def get(self, run_id: str | None = None) -> RunHandle:
        if run_id is None:
            running = [h for h in self.runs.values() if not h.state.finished]
            pool = running or list(self.runs.values())
            if not pool:
                raise RunError("no provisioning run yet")
            return pool[-1]
        try:
            return self.runs[run_id]
        except KeyError:
            raise RunError(f"unknown run {run_id!r} (known: {', '.join(self.runs) or 'none'})") from None

    def cancel(self, run_id: str | None = None) -> RunHandle:
        handle = self.get(run_id)
        if not handle.state.finished:
            handle.cancel_requested.set()  # polled by ansible-runner, which kills the process group
        return handle

    async def wait(self, run_id: str | None = None, timeout: float | None = None) -> RunState:
        handle = self.get(run_id)
        return await asyncio.wait_for(asyncio.shield(handle.done), timeout)

    def rotate(self) -> list[Path]:
        """Delete the oldest finished run dirs beyond `keep` (blocking: call in a thread)."""
        runs_dir = self.base_dir / "runs"
        if not runs_dir.is_dir():
            return []
        active = {h.run_id for h in self.runs.values() if not h.state.finished}
        dirs = sorted((p for p in runs_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        finished = [p for p in dirs if p.name not in active]
        removed = []
        excess = len(dirs) - self.keep
        for path in finished:
            if excess <= 0:
                break
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            excess -= 1
        return removed

    def forget_finished(self, keep: int) -> None:
        """Bound the in-memory run list (the artifacts stay on disk until rotated)."""
        finished = [rid for rid, h in self.runs.items() if h.state.finished]
        for rid in finished[: max(0, len(finished) - keep)]:
            del self.runs[rid]
