"""The `slurm` source: the queue (items), nodes, partitions and sacct history (sections).

Configured by `cockpit.slurm` (transport cli / ssh / rest), or by the ecosystem's variables:
SLURMRESTD_URL + SLURM_JWT (slurmrestd) or SLURM_CONF (the local CLI).
One fetch reads the queue and the nodes at once; sacct history is read at most every
`history_interval` seconds, because it is the heavy query on a busy slurmdbd.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator, Mapping

from backends.slurm import parse
from backends.slurm.hostlist import expand_hostlist
from backends.slurm.transport import (CliTransport, LocalRunner, NotSupported, RestTransport, SlurmError,
                                      SshRunner, gc_paused, read_token_file)
from cockpit.slurm_priority import with_priority_ranks
from cockpit.source_types import NotConfigured, env_value
from cockpit.snapshot import FetchResult

if TYPE_CHECKING:
    from backends.slurm.settings import SlurmSettings
    from cockpit.config import LoadedConfig

HISTORY_LIMIT = 500  # most recent accounting records kept in the snapshot


class SlurmSource:
    name = "slurm"

    def __init__(self, transport: Any, *, control: Any = None, history_hours: float = 24.0,
                 history_interval: float = 30.0, tail_via: Any = None) -> None:
        self.transport = transport
        # Where control operations go when the reading transport cannot do them (slurmrestd
        # v0.0.38 has no hold/drain): the CLI, when one is configured.
        self.control_transport = control
        self.history_hours = history_hours
        self.history_interval = history_interval
        self.tail_via = tail_via  # (pool, target) to follow logs over SSH; None: local files
        self._history: dict[str, Any] | None = None
        self._history_at = 0.0
        self.last_fetch_s: float | None = None

    # -- reading --------------------------------------------------------------------------------
    async def fetch(self) -> FetchResult:
        started = time.perf_counter()
        t = self.transport
        jobs_doc, nodes_doc = await asyncio.gather(t.jobs_doc(), t.nodes_doc())
        now = datetime.now(timezone.utc)
        jobs, nodes = await asyncio.to_thread(self._parse_queue, jobs_doc, nodes_doc, now)
        partitions = await t.partitions(nodes)
        accounting = await self._accounting()
        self.last_fetch_s = time.perf_counter() - started
        cluster = {"transport": t.kind, "endpoint": t.label, "slurm_version": t.slurm_version,
                   "api_version": t.api_version or parse.api_version(jobs_doc)}
        return FetchResult.of(jobs, nodes=nodes, partitions=partitions, accounting=accounting, cluster=cluster)

    @staticmethod
    def _parse_queue(jobs_doc: Any, nodes_doc: Any, now: datetime) -> tuple[list[Any], list[Any]]:
        with gc_paused():
            jobs = with_priority_ranks(parse.parse_jobs(jobs_doc, now))  # "priority 3rd of 12 in gpu"
            return jobs, parse.parse_nodes(nodes_doc)

    async def _accounting(self) -> dict[str, Any]:
        if self._history is not None and time.monotonic() - self._history_at < self.history_interval:
            return self._history
        try:
            available, why = await self.transport.accounting()
            if not available:
                section: dict[str, Any] = {"available": False, "reason": why, "jobs": []}
            else:
                since = datetime.now(timezone.utc) - timedelta(hours=self.history_hours)
                doc = await self.transport.history_doc(since)
                jobs = await asyncio.to_thread(self._parse_history, doc)
                jobs.sort(key=lambda j: (j.submit_time or datetime.min.replace(tzinfo=timezone.utc), j.job_id),
                          reverse=True)
                section = {"available": True, "reason": None, "window_hours": self.history_hours,
                           "jobs": jobs[:HISTORY_LIMIT]}
        except (SlurmError, ValueError) as exc:
            # History trouble must not hide the queue: keep the last history, say what failed.
            previous = self._history or {"available": True, "jobs": []}
            section = {**previous, "error": str(exc)}
        self._history, self._history_at = section, time.monotonic()
        return section

    @staticmethod
    def _parse_history(doc: Any) -> list[Any]:
        with gc_paused():
            return parse.parse_history(doc)

    # -- control (used by cockpit/ops/slurm.py) --------------------------------------------------
    async def control(self, op: str, target: str, reason: str | None = None) -> None:
        try:
            await self.transport.control(op, target, reason)
        except NotSupported:
            if self.control_transport is None:
                raise
            await self.control_transport.control(op, target, reason)
        self._history_at = 0.0  # the next fetch re-reads history too

    async def submit(self, script: str, job: Mapping[str, Any]) -> int:
        return await self.transport.submit(script, job)

    async def jobs_with_comment(self, comment: str) -> list[int]:
        """Ids of the queue's jobs whose comment is exactly `comment` (idempotent submission:
        what an earlier, interrupted submit created), oldest first. Finished jobs too when
        accounting is kept."""
        found: set[int] = set()
        docs = [await self.transport.jobs_doc()]
        try:
            available, _why = await self.transport.accounting()
            if available:
                docs.append(await self.transport.history_doc(datetime.now(timezone.utc) - timedelta(days=7)))
        except (SlurmError, ValueError):
            pass  # the queue alone still answers for pending and running jobs
        for doc in docs:
            for job in (doc.get("jobs") if isinstance(doc, Mapping) else None) or []:
                if isinstance(job, Mapping) and _comment_of(job) == comment and str(job.get("job_id", "")).isdigit():
                    found.add(int(job["job_id"]))
        return sorted(found)

    async def job_detail(self, job_id: int) -> dict[str, Any]:
        """Every field Slurm has for the job, its batch script and its node names."""
        fields = await self.transport.job_fields(job_id)
        script = await self.transport.batch_script(job_id)
        if script is None and self.control_transport is not None:
            script = await self.control_transport.batch_script(job_id)
        nodes_expr = fields.get("NodeList") if "NodeList" in fields else fields.get("nodes")
        if isinstance(nodes_expr, Mapping):  # v0.0.41+ job_resources style
            nodes_expr = nodes_expr.get("list")
        try:
            nodes = expand_hostlist(parse.text(nodes_expr))
        except ValueError:
            nodes = [str(nodes_expr)]
        accounted = self._accounted(job_id)
        return {"job_id": job_id, "fields": fields, "script": script, "nodes": nodes,
                "script_note": None if script is not None else
                f"the batch script is not available over {self.transport.label}",
                "steps": [step.model_dump(mode="json") for step in accounted.steps] if accounted else [],
                "accounting": accounted.model_dump(mode="json") if accounted else None,
                "steps_note": None if accounted else "no accounting record of this job in the history window"}

    def _accounted(self, job_id: int) -> Any:
        """The job's sacct record (with its steps) from the last history read, if it is there."""
        for job in (self._history or {}).get("jobs") or []:
            if job.job_id == job_id:
                return job
        return None

    def follow_log(self, path: str, *, poll_s: float = 1.0, use_inotify: bool = True) -> AsyncIterator[str]:
        from backends.slurm.logtail import follow_file, follow_remote

        if self.tail_via is not None:
            pool, target = self.tail_via
            return follow_remote(pool, target, path)
        return follow_file(path, poll_s=poll_s, use_inotify=use_inotify)

    async def read_log_tail(self, path: str, lines: int = 20) -> str:
        """The last lines of a job's output file, read once (over SSH when Slurm is reached so).
        Raises OSError when the file cannot be read."""
        from backends.slurm.logtail import read_tail, read_tail_remote

        if self.tail_via is not None:
            pool, target = self.tail_via
            return await read_tail_remote(pool, target, path, lines)
        return await asyncio.to_thread(read_tail, path, lines)

    async def close(self) -> None:
        for t in {id(self.transport): self.transport, id(self.control_transport): self.control_transport}.values():
            if t is not None:
                await t.close()


# -- building from config -------------------------------------------------------------------------
def _token_getter(settings: "SlurmSettings | None", env_jwt: str | None) -> Any:
    if settings is not None and settings.jwt is not None:
        secret = settings.jwt.get_secret_value()
        return lambda: secret
    if settings is not None and settings.jwt_file:
        path = settings.jwt_file
        return lambda: read_token_file(path)
    return lambda: env_jwt


def _ssh_runner(settings: "SlurmSettings") -> tuple[SshRunner, Any]:
    from backends.ssh.pool import SshPool, SshTarget

    target = SshTarget(host=settings.ssh_host or "", port=settings.ssh_port or None, user=settings.ssh_user,
                       client_keys=(settings.ssh_key,) if settings.ssh_key else (), known_hosts=settings.known_hosts)
    pool = SshPool()
    return SshRunner(pool, target, settings.conf), (pool, target)


def build_from_settings(settings: "SlurmSettings", env: Mapping[str, str | None]) -> SlurmSource:
    common = {"history_hours": settings.history_hours, "history_interval": settings.history_interval}
    conf = settings.conf or env.get("SLURM_CONF")
    if settings.transport == "pyslurm":
        try:
            import pyslurm  # noqa: F401
        except ImportError:
            raise SlurmError("transport pyslurm: pyslurm does not import here (PyPI's pyslurm matches only "
                             "Slurm 25.11); use transport cli, ssh or rest") from None
        raise SlurmError("transport pyslurm: this build reads Slurm through cli/ssh/rest only; use one of those")
    if settings.transport == "ssh":
        if not settings.ssh_host:
            raise SlurmError("cockpit -> slurm -> ssh_host: required for transport ssh")
        runner, via = _ssh_runner(settings)
        return SlurmSource(CliTransport(runner), tail_via=via, **common)
    if settings.transport == "rest":
        url = settings.rest_url or env.get("SLURMRESTD_URL")
        if not url:
            raise SlurmError("cockpit -> slurm -> rest_url: required for transport rest (or set SLURMRESTD_URL)")
        rest = RestTransport(url, _token_getter(settings, env.get("SLURM_JWT")),
                             user=settings.rest_user or env.get("SLURMRESTD_USER"), version=settings.api_version)
        control = None
        if settings.ssh_host:
            control = CliTransport(_ssh_runner(settings)[0])
        elif conf:
            control = CliTransport(LocalRunner(conf))
        return SlurmSource(rest, control=control, **common)
    return SlurmSource(CliTransport(LocalRunner(conf)), **common)


def build_source(loaded: "LoadedConfig") -> Any:
    from backends.slurm.settings import SlurmSettings

    settings = loaded.config.cockpit.slurm
    env = {name: env_value(loaded, name) for name in ("SLURM_CONF", "SLURMRESTD_URL", "SLURM_JWT", "SLURMRESTD_USER")}
    if settings is None:
        if env["SLURMRESTD_URL"]:
            settings = SlurmSettings(transport="rest")
        elif env["SLURM_CONF"]:
            settings = SlurmSettings(transport="cli")
        else:
            raise NotConfigured()
    return build_from_settings(settings, env)


def _comment_of(job: Mapping[str, Any]) -> str | None:
    """squeue/slurmrestd give `comment` as text; sacct as {"job": ..., "administrator": ...}."""
    value = job.get("comment")
    if isinstance(value, Mapping):
        value = value.get("job")
    return value if isinstance(value, str) else None
