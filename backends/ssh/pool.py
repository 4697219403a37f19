"""A small asyncssh connection pool: one connection per (host, port, user), reused by every
command, reopened when it drops. ~/.ssh/config is honored (asyncssh reads it by default), so
Host aliases, User, Port, IdentityFile and ProxyJump work as users expect."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # asyncssh costs ~0.15 s to import: only when a connection is made
    import asyncssh


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int | None = None
    user: str | None = None
    client_keys: tuple[str, ...] = ()
    known_hosts: str | None = None  # path; None: ~/.ssh/known_hosts (asyncssh default)
    insecure_no_host_check: bool = False  # tests and labs only

    def label(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}"


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class SshError(RuntimeError):
    pass


class SshPool:
    def __init__(self, connect_timeout: float = 10.0) -> None:
        self.connect_timeout = connect_timeout
        self._conns: dict[SshTarget, asyncssh.SSHClientConnection] = {}
        self._locks: dict[SshTarget, asyncio.Lock] = {}
        self.connects = 0  # how many TCP+auth handshakes happened (load figures, tests)

    async def connection(self, target: SshTarget) -> "asyncssh.SSHClientConnection":
        import asyncssh

        lock = self._locks.setdefault(target, asyncio.Lock())
        async with lock:
            conn = self._conns.get(target)
            if conn is not None and not conn.is_closed():
                return conn
            options: dict[str, Any] = {"connect_timeout": self.connect_timeout}
            if target.port:
                options["port"] = target.port
            if target.user:
                options["username"] = target.user
            if target.client_keys:
                options["client_keys"] = list(target.client_keys)
            if target.insecure_no_host_check:
                options["known_hosts"] = None
            elif target.known_hosts:
                options["known_hosts"] = target.known_hosts
            try:
                conn = await asyncssh.connect(target.host, **options)
            except (OSError, asyncssh.Error) as exc:
                raise SshError(f"ssh {target.label()}: {exc}") from exc
            self.connects += 1
            self._conns[target] = conn
            return conn

    async def run(self, target: SshTarget, command: str | Sequence[str], *, timeout: float = 60.0,
                  input: str | None = None) -> CommandResult:
        """Run a command; a connection that dropped is reopened once."""
        import asyncssh

        if not isinstance(command, str):
            import shlex

            command = shlex.join(command)
        for attempt in (1, 2):
            conn = await self.connection(target)
            try:
                result = await asyncio.wait_for(conn.run(command, input=input, check=False), timeout)
            except asyncssh.ChannelOpenError as exc:
                self._conns.pop(target, None)
                if attempt == 2:
                    raise SshError(f"ssh {target.label()}: {exc}") from exc
                continue
            except asyncio.TimeoutError:
                raise SshError(f"ssh {target.label()}: {command!r} gave no answer within {timeout:g} s") from None
            return CommandResult(
                command=command,
                exit_status=result.exit_status if result.exit_status is not None else -1,
                stdout=str(result.stdout or ""),
                stderr=str(result.stderr or ""),
            )
        raise AssertionError("unreachable")

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()
        for conn in conns:
            try:
                await conn.wait_closed()
            except Exception:
                pass
