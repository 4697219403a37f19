"""`cockpit serve-ssh`: the cockpit screen over SSH, no shell account needed.

Every key-authenticated client gets its own screen in a PTY; all viewers share one Runtime (one
set of collectors), so five viewers cost the backends what one does. Roles per key:
  viewer    read only (the default for a key without a role)
  operator  may run actions (still confirmed and audited)
set with an option in the authorized-keys file, e.g.
  cockpit-role=operator ssh-ed25519 AAAAC3... alice@laptop
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from cockpit import paths
from cockpit.actions import Actor

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

log = logging.getLogger(__name__)

ROLES = ("viewer", "operator")
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


class AuthorizedKeysError(ValueError):
    pass


@dataclass(frozen=True)
class AuthorizedKey:
    fingerprint: str
    role: str
    comment: str


def parse_authorized_keys(text: str, source: str = "authorized_keys", default_role: str = "viewer") -> dict[str, AuthorizedKey]:
    """fingerprint -> key entry. Errors name the file and line."""
    keys: dict[str, AuthorizedKey] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        options: dict[str, str] = {}
        if parts[0] not in KEY_TYPES:
            for option in parts[0].split(","):
                name, _, value = option.partition("=")
                options[name] = value.strip('"')
            parts = parts[1:]
        if len(parts) < 2 or parts[0] not in KEY_TYPES:
            raise AuthorizedKeysError(f"{source}:{number}: expected '[options] KEYTYPE BASE64 [comment]'")
        role = options.get("cockpit-role", default_role)
        if role not in ROLES:
            raise AuthorizedKeysError(f"{source}:{number}: cockpit-role must be one of {', '.join(ROLES)}, got {role!r}")
        try:
            key = asyncssh.import_public_key(f"{parts[0]} {parts[1]}")
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise AuthorizedKeysError(f"{source}:{number}: {exc}") from None
        fingerprint = key.get_fingerprint()
        keys[fingerprint] = AuthorizedKey(fingerprint=fingerprint, role=role, comment=" ".join(parts[2:]))
    if not keys:
        raise AuthorizedKeysError(f"{source}: no keys")
    return keys


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """Created once, kept with mode 0600 in a 0700 directory."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, 0o600)
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = asyncssh.generate_private_key("ssh-ed25519")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key())
    return key


@dataclass
class ServeOptions:
    max_sessions: int = 10
    idle_timeout: float = 1800.0
    low_bandwidth: bool = False


@dataclass(eq=False)  # identity semantics: sessions live in a set
class ViewerSession:
    """One SSH viewer: the bridge between the SSH process and its App's driver."""

    process: asyncssh.SSHServerProcess
    actor: Actor
    driver: Any = None
    input_enabled: bool = True
    last_input: float = field(default_factory=time.monotonic)
    bytes_out: int = 0

    # Input rate limit (token bucket): nobody types 4 KiB at once; a flood is dropped, not queued,
    # so one client cannot bury its app (or the event loop shared with other viewers) in events.
    input_rate: float = 2000.0
    input_burst: float = 4096.0
    _tokens: float = 4096.0
    _tokens_at: float = field(default_factory=time.monotonic)
    dropped_input: int = 0

    def admit(self, data: str) -> str:
        now = time.monotonic()
        self._tokens = min(self.input_burst, self._tokens + (now - self._tokens_at) * self.input_rate)
        self._tokens_at = now
        allowed = int(self._tokens)
        if len(data) > allowed:
            self.dropped_input += len(data) - allowed
            data = data[:allowed]
        self._tokens -= len(data)
        return data

    def size(self) -> tuple[int, int]:
        width, height, _pw, _ph = self.process.get_terminal_size()
        return width or 80, height or 24

    def write(self, data: str) -> None:
        if self.process.is_closing() if hasattr(self.process, "is_closing") else False:
            return
        try:
            self.process.stdout.write(data)
            self.bytes_out += len(data)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            pass


class _Server(asyncssh.SSHServer):
    def __init__(self, keys: dict[str, AuthorizedKey], connections: set[Any]) -> None:
        self.keys = keys
        self.conn: asyncssh.SSHServerConnection | None = None
        self.connections = connections

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        entry = self.keys.get(key.get_fingerprint())
        if entry is None:
            return False
        assert self.conn is not None
        self.conn.set_extra_info(cockpit_role=entry.role, cockpit_fingerprint=entry.fingerprint)
        return True


class SshCockpitServer:
    def __init__(self, runtime: "Runtime", keys: dict[str, AuthorizedKey], host_key: asyncssh.SSHKey,
                 options: ServeOptions | None = None) -> None:
        self.runtime = runtime
        self.keys = keys
        self.host_key = host_key
        self.options = options or ServeOptions()
        self.sessions: set[ViewerSession] = set()
        self._connections: set[Any] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._server: asyncssh.SSHAcceptor | None = None
        self.refused_sessions = 0

    async def start(self, host: str = "127.0.0.1", port: int = 2022) -> int:
        self._streams = (sys.stdout, sys.stderr)
        if not self.runtime.hub.started:
            self.runtime.hub.start()
        self._server = await asyncssh.create_server(
            lambda: _Server(self.keys, self._connections), host, port, server_host_keys=[self.host_key],
            process_factory=self._handle, line_editor=False, encoding="utf-8", keepalive_interval=30,
        )
        return self._server.sockets[0].getsockname()[1]

    async def stop(self, grace: float = 5.0) -> None:
        """End every session, close every connection, then the listener and the hub. Bounded:
        a session that does not end in time is cancelled rather than waited for."""
        for session in list(self.sessions):
            app = getattr(session.driver, "_app", None)
            if app is not None:
                app.exit(0)
        if self._handlers:
            _done, pending = await asyncio.wait(list(self._handlers), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        for conn in list(self._connections):
            conn.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(self._server.wait_closed(), grace)
        await self.runtime.hub.stop()

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        from screens.app import CockpitApp
        from screens.ssh_driver import SshDriver

        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        role = process.get_extra_info("cockpit_role") or "viewer"
        fingerprint = process.get_extra_info("cockpit_fingerprint")
        username = process.get_extra_info("username") or "ssh"
        if len(self.sessions) >= self.options.max_sessions:
            self.refused_sessions += 1
            process.stderr.write(f"cockpit: all {self.options.max_sessions} sessions are in use; try later\r\n")
            process.exit(1)
            return
        if process.get_terminal_type() is None:
            process.stderr.write("cockpit: a terminal is needed (ssh -t)\r\n")
            process.exit(1)
            return
        actor = Actor(name=username, via="ssh", role=role, key_fingerprint=fingerprint)
        session = ViewerSession(process=process, actor=actor)
        app = CockpitApp(self.runtime, actor=actor, low_bandwidth=self.options.low_bandwidth, owns_hub=False,
                         driver_class=SshDriver)
        app.ssh_session = session  # read by SshDriver
        keep_prints_on_server_streams(app, self._streams)
        self.sessions.add(session)
        pump = asyncio.create_task(self._pump_input(session, app))
        idle = asyncio.create_task(self._idle_watch(session, app))
        try:
            await app.run_async()
        except Exception:
            log.exception("ssh session of %s failed", username)
        finally:
            for task in (pump, idle):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.sessions.discard(session)
            # Textual redirects the process-wide stdout/stderr while an app runs (to the server's
            # own streams, see keep_prints_on_server_streams); put them back when the last leaves.
            if not self.sessions:
                sys.stdout, sys.stderr = self._streams
            with contextlib.suppress(Exception):
                process.exit(0)

    async def _pump_input(self, session: ViewerSession, app: Any) -> None:
        process = session.process
        while True:
            try:
                data = await process.stdin.read(4096)
            except asyncssh.TerminalSizeChanged as change:
                if session.driver is not None:
                    session.driver.resize(change.width, change.height)
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            except (asyncssh.Error, ConnectionError, BrokenPipeError):
                data = ""
            if not data:  # the client went away: leave nothing behind
                app.exit(0)
                return
            session.last_input = time.monotonic()
            data = session.admit(data)
            if data and session.driver is not None and session.input_enabled:
                # Bound work per read: parsed in slices, yielding to other sessions in between.
                for start in range(0, len(data), 512):
                    session.driver.feed(data[start:start + 512])
                    await asyncio.sleep(0)

    async def _idle_watch(self, session: ViewerSession, app: Any) -> None:
        while True:
            await asyncio.sleep(min(5.0, self.options.idle_timeout / 2))
            if time.monotonic() - session.last_input > self.options.idle_timeout:
                session.write("\r\ncockpit: idle timeout\r\n")
                app.exit(0)
                return


def keep_prints_on_server_streams(app: Any, streams: tuple[Any, Any]) -> None:
    """Textual swaps the process-wide sys.stdout/sys.stderr for a capture object holding its App
    while the App runs. In a server of many Apps that is a leak: every thread started meanwhile
    (the event loop's executor threads, for one) stores sys.stderr for its excepthook, so each
    such thread kept one ended session's whole App, screens and frames alive for the thread's
    life. A stray print from one viewer's App does not belong on another viewer's screen either:
    it goes to the server's own streams."""
    if not (hasattr(app, "_capture_stdout") and hasattr(app, "_capture_stderr")):
        raise RuntimeError("textual.App no longer has _capture_stdout/_capture_stderr: "
                           "check how it redirects prints before serving SSH sessions")
    app._capture_stdout, app._capture_stderr = streams


def default_host_key_path() -> Path:
    return paths.state_dir() / "ssh_host_ed25519_key"
