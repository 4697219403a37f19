"""How the adapter talks to Slurm: the CLI's `--json` output (locally or over SSH) or slurmrestd.

Every transport returns raw JSON documents (parsed in backends.slurm.parse) and runs control
operations. Errors are SlurmError with a sentence naming what failed where; tokens never
appear in them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import os
import re
import shlex
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import orjson

from backends.slurm.parse import MalformedReply, api_version, partitions_from_scontrol, parse_partitions
from backends.slurm.models import Node, Partition

REST_VERSIONS = ("v0.0.45", "v0.0.44", "v0.0.43", "v0.0.42", "v0.0.41", "v0.0.40", "v0.0.39", "v0.0.38")


class SlurmError(RuntimeError):
    """A Slurm command or request failed; the message says what and where."""


class NotSupported(SlurmError):
    pass


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic GC while a big reply is decoded or parsed: the hundreds of
    thousands of dicts a 10k-job reply makes trigger collection after collection, which costs
    as much as the decoding itself (issue 19). Nothing here makes cycles; GC resumes after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def decode_json(text: str | bytes, what: str) -> Any:
    """orjson with the GC paused: a 10k-job squeue reply (89 MB) decodes and parses in about
    0.8 s of CPU instead of 1.4 s with json and the GC running (issue 19)."""
    try:
        with gc_paused():
            return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        snippet = shown.strip()[:60].replace("\n", " ")
        raise MalformedReply(f"{what} returned malformed JSON ({exc.msg} at char {exc.pos}): {snippet!r}") from None


def decode_body(content: bytes) -> Any:
    with gc_paused():
        return orjson.loads(content)


def slurm_version_tuple(text: str) -> tuple[int, int] | None:
    m = re.search(r"(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str
    raw_stdout: bytes | None = None  # instead of stdout ("") when a LocalRunner was asked for it


# -- command runners: where the Slurm CLI runs ----------------------------------------------------
class LocalRunner:
    """Runs Slurm commands here, with SLURM_CONF from the config (never an inherited SLURM_JWT,
    which would switch the commands from munge to JWT auth)."""

    def __init__(self, conf: str | None, timeout: float = 20.0) -> None:
        self.conf = conf
        self.timeout = timeout
        self.label = f"local ({conf})" if conf else "local"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("SLURM_JWT",)}
        if self.conf:
            env["SLURM_CONF"] = self.conf
        return env

    async def run(self, argv: Sequence[str], input: str | None = None, *, raw: bool = False) -> Completed:
        """raw: stdout stays bytes (a 10,000-job reply is not decoded on the event loop)."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=self.env(), start_new_session=True)
        except FileNotFoundError:
            raise SlurmError(f"{argv[0]} is not installed here (install slurm-client, or use transport ssh/rest)") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(input.encode() if input is not None else None),
                                              self.timeout)
        except asyncio.TimeoutError:
            await _stop(proc)
            raise SlurmError(f"{shlex.join(argv[:3])} gave no answer within {self.timeout:g} s "
                             f"(is slurmctld reachable from {self.label}?)") from None
        except asyncio.CancelledError:
            await _stop(proc)
            raise
        if raw and proc.returncode == 0:
            return Completed(tuple(argv), 0, "", err.decode(errors="replace"), raw_stdout=out)
        return Completed(tuple(argv), proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Kill a command whose answer is no longer wanted and read what it still had to say: asyncio
    counts a process as finished only once its pipes closed, and a pipe whose unread output
    filled the buffer (a big `squeue --json`) never does, so a bare wait() could hang forever."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: whatever it started goes too
    with contextlib.suppress(asyncio.TimeoutError, OSError):
        await asyncio.wait_for(proc.communicate(), 5)


class SshRunner:
    """Runs Slurm commands on the controller (or a login node) through the shared SSH pool."""

    def __init__(self, pool: Any, target: Any, conf: str | None, timeout: float = 30.0) -> None:
        self.pool, self.target, self.conf, self.timeout = pool, target, conf, timeout
        self.label = f"ssh {target.label()}"

    async def run(self, argv: Sequence[str], input: str | None = None, *, raw: bool = False) -> Completed:
        """raw is accepted for LocalRunner's sake: asyncssh hands over text."""
        from backends.ssh.pool import SshError

        command = shlex.join(argv)
        if self.conf:
            command = f"SLURM_CONF={shlex.quote(self.conf)} {command}"
        try:
            result = await self.pool.run(self.target, command, timeout=self.timeout, input=input)
        except SshError as exc:
            raise SlurmError(str(exc)) from None
        return Completed(tuple(argv), result.exit_status, result.stdout, result.stderr)


def reported_errors(doc: Any, what: str) -> None:
    """Slurm's JSON carries failures in an `errors` list, often with exit status 0 / HTTP 200
    and an empty `jobs` list: an unreachable controller must not read as an empty queue."""
    errors = doc.get("errors") if isinstance(doc, Mapping) else None
    if not errors:
        return
    first = errors[0] if isinstance(errors[0], Mapping) else {"description": str(errors[0])}
    detail = first.get("description") or first.get("error") or "unspecified error"
    source = f" in {first['source']}" if first.get("source") else ""
    raise SlurmError(f"{what}: Slurm reported '{detail}'{source} (is slurmctld up and reachable?)")


def _failure(done: Completed, where: str) -> SlurmError:
    lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
    detail = " / ".join(lines[-2:]) or "no message"
    return SlurmError(f"{done.argv[0]} on {where} failed (exit {done.exit_status}): {detail}")


class CliTransport:
    """squeue/sinfo/sacct/scontrol `--json` (Slurm 21.08+), run by a LocalRunner or SshRunner."""

    kind = "cli"

    def __init__(self, runner: LocalRunner | SshRunner) -> None:
        self.runner = runner
        self.label = runner.label
        self.slurm_version: str | None = None
        self.api_version: str | None = None
        self._accounting: tuple[bool, str | None] | None = None

    async def _ok(self, argv: Sequence[str], input: str | None = None, raw: bool = False) -> Completed:
        done = await self.runner.run(argv, input, raw=raw)
        if done.exit_status != 0:
            raise _failure(done, self.label)
        return done

    async def version(self) -> tuple[int, int]:
        if self.slurm_version is None:
            done = await self._ok(["sinfo", "--version"])
            self.slurm_version = done.stdout.strip().split()[-1] if done.stdout.strip() else "unknown"
        return slurm_version_tuple(self.slurm_version) or (0, 0)

    async def _json(self, argv: Sequence[str]) -> Any:
        done = await self._ok(argv)
        what = " ".join(argv[:2])
        doc = await asyncio.to_thread(decode_json, done.stdout, what)
        self.note_reply(doc, what)
        return doc

    def note_reply(self, doc: Any, what: str) -> None:
        """Slurm's errors in a decoded reply (or its envelope) raise; its data parser version is noted."""
        reported_errors(doc, f"{what} on {self.label}")
        self.api_version = api_version(doc) or self.api_version

    # From 23.02 `squeue --json` applies squeue's default state filter (finished jobs vanish at
    # once); 22.05 ignores it. --states=all lists what slurmctld still holds, as slurmrestd does
    # (tests/fixtures/slurm/recorded/*/squeue_all.json).
    SQUEUE = ("squeue", "--json", "--states=all")

    async def jobs_doc(self) -> Any:
        return await self._json(self.SQUEUE)

    async def jobs_raw(self) -> tuple[bytes | str, str]:
        """(the queue reply undecoded, what it is): decoded by queue_worker, checked by note_reply."""
        done = await self._ok(self.SQUEUE, raw=True)
        return done.stdout if done.raw_stdout is None else done.raw_stdout, " ".join(self.SQUEUE[:2])

    async def nodes_doc(self) -> Any:
        # 24.05 turned `sinfo --json` into grouped records; scontrol has JSON from 23.02.
        if await self.version() >= (23, 2):
            return await self._json(["scontrol", "show", "nodes", "--json"])
        return await self._json(["sinfo", "--json"])

    async def partitions(self, nodes: list[Node]) -> list[Partition]:
        if await self.version() >= (23, 2):
            return parse_partitions(await self._json(["scontrol", "show", "partitions", "--json"]), nodes)
        done = await self._ok(["scontrol", "-o", "show", "partitions"])
        return partitions_from_scontrol(done.stdout, nodes)

    async def accounting(self) -> tuple[bool, str | None]:
        """(available, why not). Read once: changing it needs a slurmctld restart anyway."""
        if self._accounting is None:
            done = await self._ok(["scontrol", "show", "config"])
            m = re.search(r"^AccountingStorageType\s*=\s*(\S+)", done.stdout, re.M)
            kind = m.group(1) if m else "unknown"
            if kind.endswith("/none"):
                self._accounting = (False, "this cluster keeps no accounting (AccountingStorageType="
                                           f"{kind}): sacct history is not available")
            else:
                self._accounting = (True, None)
        return self._accounting

    async def history_doc(self, since: datetime) -> Any:
        start = since.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
        return await self._json(["sacct", "--json", "--allusers", "-S", start])

    async def job_fields(self, job_id: int) -> dict[str, str]:
        from backends.slurm.parse import parse_scontrol_records

        done = await self._ok(["scontrol", "-o", "show", "job", str(job_id)])
        records = parse_scontrol_records(done.stdout)
        return records[0] if records else {}

    async def batch_script(self, job_id: int) -> str | None:
        done = await self.runner.run(["scontrol", "write", "batch_script", str(job_id), "-"])
        return done.stdout if done.exit_status == 0 else None

    async def expand_nodes(self, expression: str) -> list[str]:
        done = await self._ok(["scontrol", "show", "hostnames", expression])
        return done.stdout.split()

    async def submit(self, script: str, job: Mapping[str, Any]) -> int:
        comment = [f"--comment={job['comment']}"] if job.get("comment") else []
        done = await self._ok(["sbatch", "--parsable", *comment], input=script)
        first = done.stdout.strip().split(";")[0]
        if not first.isdigit():
            raise SlurmError(f"sbatch on {self.label} printed no job id: {done.stdout.strip()[:80]!r}")
        return int(first)

    async def control(self, op: str, target: str, reason: str | None = None) -> None:
        argv = {
            "cancel": ["scancel", target],
            "hold": ["scontrol", "hold", target],
            "release": ["scontrol", "release", target],
            "requeue": ["scontrol", "requeue", target],
            "drain": ["scontrol", "update", f"NodeName={target}", "State=DRAIN", f"Reason={reason or 'cockpit'}"],
            "resume": ["scontrol", "update", f"NodeName={target}", "State=RESUME"],
        }[op]
        await self._ok(argv)

    async def close(self) -> None:
        pool = getattr(self.runner, "pool", None)
        if pool is not None:
            await pool.close()


# -- slurmrestd -----------------------------------------------------------------------------------
def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (not verified: only to explain a rejection)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(data["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


class RestTransport:
    """slurmrestd with JWT auth (X-SLURM-USER-NAME / X-SLURM-USER-TOKEN headers), via httpx."""

    kind = "rest"

    def __init__(self, url: str, token: Callable[[], str | None], user: str | None = None,
                 version: str | None = None, timeout: float = 15.0, client: Any = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.label = f"slurmrestd {self.url}"
        self._token = token
        self.user = user
        self.api_version = version
        self.slurm_version: str | None = None
        self.client = client or httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._accounting: tuple[bool, str | None] | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self._token()
        if token:
            headers["X-SLURM-USER-TOKEN"] = token
        if self.user:
            headers["X-SLURM-USER-NAME"] = self.user
        return headers

    def _explain(self, status: int, body: Any) -> str:
        token = self._token()
        exp = jwt_expiry(token) if token else None
        if exp is not None and exp < time.time():
            when = datetime.fromtimestamp(exp).astimezone().isoformat(timespec="seconds")
            return (f"{self.label} rejected the request (HTTP {status}): the JWT expired at {when}; "
                    "get a new one with `scontrol token` and update cockpit.slurm.jwt/jwt_file or SLURM_JWT")
        if status in (401, 403):
            return f"{self.label} rejected the JWT (HTTP {status}): check cockpit.slurm.jwt and rest_user"
        if not token:
            return f"{self.label} answered HTTP {status} and no JWT is configured (cockpit.slurm.jwt or SLURM_JWT)"
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if errors:
            first = errors[0] if isinstance(errors[0], Mapping) else {}
            detail = first.get("description") or first.get("error") or str(first)
            return f"{self.label} answered HTTP {status}: {detail}"
        return f"{self.label} answered HTTP {status}"

    async def request(self, method: str, path: str, *, json_body: Any = None, params: Any = None,
                      allow_404: bool = False, raw: bool = False) -> Any:
        """The decoded reply (None for an allowed 404); with raw, a successful reply's bytes undecoded."""
        import httpx

        try:
            response = await self.client.request(method, path, headers=self._headers(), json=json_body, params=params)
        except httpx.TimeoutException:
            raise SlurmError(f"{self.label} gave no answer within the timeout ({method} {path})") from None
        except httpx.HTTPError as exc:
            raise SlurmError(f"{self.label} is unreachable: {exc or type(exc).__name__}") from None
        if response.status_code == 404 and allow_404:
            return None
        if raw and response.is_success and response.content:
            return response.content
        body: Any = None
        if response.content:
            try:
                body = await asyncio.to_thread(decode_body, response.content)
            except ValueError:
                if response.is_success:
                    raise MalformedReply(f"{self.label} returned malformed JSON for {path}: "
                                         f"{response.text.strip()[:60]!r}") from None
        if not response.is_success:
            raise SlurmError(self._explain(response.status_code, body))
        if body is None:
            raise MalformedReply(f"{self.label} returned an empty reply for {path}")
        if method == "GET":
            reported_errors(body, f"{self.label} {path}")
        return body

    async def version(self) -> str:
        if self.api_version is None:
            for version in REST_VERSIONS:
                doc = await self.request("GET", f"/slurm/{version}/ping", allow_404=True)
                if doc is not None:
                    self.api_version = version
                    self._note_meta(doc)
                    break
            else:
                raise SlurmError(f"{self.label} serves none of the openapi versions {', '.join(REST_VERSIONS)}")
        return self.api_version

    def _note_meta(self, doc: Any) -> None:
        meta = doc.get("meta") if isinstance(doc, Mapping) else None
        slurm = (meta or {}).get("Slurm") or (meta or {}).get("slurm") or {}
        if slurm.get("release"):
            self.slurm_version = str(slurm["release"])

    async def _get(self, kind: str, path: str, **kw: Any) -> Any:
        version = await self.version()
        doc = await self.request("GET", f"/{kind}/{version}/{path}", **kw)
        if doc is not None:
            self._note_meta(doc)
        return doc

    async def jobs_doc(self) -> Any:
        return await self._get("slurm", "jobs")

    async def jobs_raw(self) -> tuple[bytes, str]:
        """(the queue reply undecoded, what it is): decoded by queue_worker, checked by note_reply."""
        path = f"/slurm/{await self.version()}/jobs"
        return await self.request("GET", path, raw=True), path

    def note_reply(self, doc: Any, what: str) -> None:
        """Slurm's errors in a decoded reply (or its envelope) raise; the Slurm release is noted."""
        reported_errors(doc, f"{self.label} {what}")
        self._note_meta(doc)
    async def nodes_doc(self) -> Any:
        return await self._get("slurm", "nodes")

    async def partitions(self, nodes: list[Node]) -> list[Partition]:
        return parse_partitions(await self._get("slurm", "partitions"), nodes)

    async def accounting(self) -> tuple[bool, str | None]:
        if self._accounting is None:
            version = await self.version()
            try:  # any answer but 404 means the slurmdb API is there (diag itself may need admin)
                served = await self.request("GET", f"/slurmdb/{version}/diag", allow_404=True) is not None
            except SlurmError as exc:
                served = "unreachable" not in str(exc)
            if not served:
                self._accounting = (False, f"{self.label} serves no slurmdb API (no slurmdbd, or slurmrestd was "
                                           "started without openapi/dbv*/slurmdbd): sacct history is not available")
            else:
                self._accounting = (True, None)
        return self._accounting

    async def history_doc(self, since: datetime) -> Any:
        from urllib.parse import quote

        # Percent-encode the colons ourselves: slurmrestd 22.05 answers 400 to a raw ':' in a query.
        start = quote(since.astimezone().strftime("%Y-%m-%dT%H:%M:%S"), safe="")
        return await self._get("slurmdb", f"jobs?start_time={start}")

    async def job_fields(self, job_id: int) -> dict[str, Any]:
        doc = await self._get("slurm", f"job/{job_id}")
        jobs = doc.get("jobs") or []
        return dict(jobs[0]) if jobs else {}

    async def batch_script(self, job_id: int) -> str | None:
        return None  # slurmrestd (through v0.0.42) has no endpoint for the stored batch script

    async def expand_nodes(self, expression: str) -> list[str]:
        from backends.slurm.hostlist import expand_hostlist

        return expand_hostlist(expression)

    def job_properties(self, job: Mapping[str, Any], version: str) -> dict[str, Any]:
        """slurmrestd ignores #SBATCH lines: the request carries the job's properties, in the
        spelling of the server's openapi version."""
        new = version >= "v0.0.40"
        props: dict[str, Any] = {"name": job["name"], "current_working_directory": job.get("workdir") or "/tmp",
                                 "cpus_per_task": job.get("cpus_per_task", 1)}
        path = "/usr/local/bin:/usr/bin:/bin"
        props["environment"] = [f"PATH={path}"] if new else {"PATH": path}
        if job.get("partition"):
            props["partition"] = job["partition"]
        nodes = int(job.get("nodes", 1))
        props["nodes"] = str(nodes) if new else [nodes, nodes]
        if job.get("time_limit_min") is not None:
            minutes = int(job["time_limit_min"])
            props["time_limit"] = {"set": True, "infinite": False, "number": minutes} if new else minutes
        if job.get("gpus_per_node"):
            if new:
                props["tres_per_node"] = f"gres/gpu:{job['gpus_per_node']}"
            else:
                props["gres"] = f"gpu:{job['gpus_per_node']}"
        if job.get("output"):
            props["standard_output"] = job["output"]
        if job.get("comment"):
            props["comment"] = job["comment"]
        return props

    async def submit(self, script: str, job: Mapping[str, Any]) -> int:
        body = {"script": script, "job": self.job_properties(job, await self.version())}
        doc = await self.request("POST", f"/slurm/{await self.version()}/job/submit", json_body=body)
        errors = [e for e in doc.get("errors") or [] if isinstance(e, Mapping)]
        job_id = doc.get("job_id") or (doc.get("result") or {}).get("job_id")
        if errors or not job_id:
            detail = (errors[0].get("description") or errors[0].get("error")) if errors else "no job_id in the reply"
            raise SlurmError(f"{self.label} refused the job: {detail}")
        return int(job_id)

    async def control(self, op: str, target: str, reason: str | None = None) -> None:
        if op == "cancel":
            await self.request("DELETE", f"/slurm/{await self.version()}/job/{target}")
            return
        raise NotSupported(f"{op} is not offered over {self.label} ({self.api_version}); "
                           "set cockpit.slurm.conf (or ssh_host) so the cockpit can use scontrol")

    async def close(self) -> None:
        await self.client.aclose()


def read_token_file(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError as exc:
        raise SlurmError(f"cannot read the JWT file {path}: {exc.strerror}") from None
