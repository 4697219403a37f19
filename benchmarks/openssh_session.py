"""Drive `cockpit serve-ssh` through the real OpenSSH client (`ssh -tt`) from a pseudo-terminal.

Used by the SSH input test (tests/screens/test_ssh_openssh.py) and the key-to-frame benchmark
(benchmarks/ssh_keys.py). The server is the real CLI in a child process, on a loopback port the
kernel picks; the client authenticates with a throwaway ed25519 key.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\x1b[=>]")


def plain(text: str) -> str:
    return ANSI.sub("", text)


class OpenSshSession:
    """A serve-ssh server plus one `ssh -tt` client in a PTY. Use as a context manager."""

    def __init__(self, columns: int = 120, rows: int = 40, config: str | None = None) -> None:
        if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
            raise RuntimeError("OpenSSH client (ssh, ssh-keygen) is not installed")
        self.columns, self.rows = columns, rows
        self.config = config
        self.home = Path(tempfile.mkdtemp(prefix="cockpit-openssh-"))
        self.server: subprocess.Popen[str] | None = None
        self.client_pid: int | None = None
        self.fd: int | None = None
        self.screen = ""

    # -- setup --------------------------------------------------------------------------------
    def __enter__(self) -> "OpenSshSession":
        key = self.home / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        (self.home / "authorized_keys").write_text(f"cockpit-role=operator {(self.home / 'id_ed25519.pub').read_text()}")
        env = dict(os.environ)
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[var] = str(self.home / var.lower())
        argv = [sys.executable, "-m", "cockpit"]
        if self.config:
            argv += ["--config", self.config]
        argv += ["serve-ssh", "--listen", "127.0.0.1:0", "--authorized-keys", str(self.home / "authorized_keys"),
                 "--host-key", str(self.home / "host_key")]
        self.server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.server.stdout.readline() if self.server.stdout else ""
        found = re.search(r"on [\d.]+:(\d+)", line)
        if not found:
            err = self.server.stderr.read() if self.server.stderr else ""
            self.close()
            raise RuntimeError(f"serve-ssh did not start: {line!r} {err[-2000:]}")
        port = found.group(1)
        pid, fd = os.forkpty()
        if pid == 0:  # child: become the ssh client inside the pty
            os.environ["TERM"] = "xterm-256color"
            os.execvp("ssh", ["ssh", "-tt", "-q", "-p", port, "-i", str(key), "-F", "/dev/null",
                              "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                              "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "viewer@127.0.0.1"])
        self.client_pid, self.fd = pid, fd
        self._set_size()
        return self

    def _set_size(self) -> None:
        import fcntl
        import struct
        import termios

        assert self.fd is not None
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.columns, 0, 0))

    # -- io -----------------------------------------------------------------------------------
    def send(self, data: str) -> None:
        assert self.fd is not None
        os.write(self.fd, data.encode())

    def read_some(self, timeout: float) -> str:
        assert self.fd is not None
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return ""
        try:
            chunk = os.read(self.fd, 65536).decode("utf-8", "replace")
        except OSError:
            return ""
        self.screen += chunk
        return chunk

    def drain(self, quiet: float = 0.3, limit: float = 5.0) -> None:
        """Read until nothing has arrived for `quiet` seconds."""
        end = time.monotonic() + limit
        while time.monotonic() < end and self.read_some(quiet):
            pass

    def wait_for(self, text: str, timeout: float) -> float | None:
        """Seconds until `text` appears in what is drawn from now on, or None after `timeout`."""
        start = time.monotonic()
        seen = ""
        while (left := timeout - (time.monotonic() - start)) > 0:
            chunk = self.read_some(left)
            if chunk:
                seen += chunk
                if text in plain(seen):
                    return time.monotonic() - start
        return None

    # -- teardown -----------------------------------------------------------------------------
    def close(self) -> None:
        if self.client_pid:
            try:
                os.kill(self.client_pid, signal.SIGTERM)
                os.waitpid(self.client_pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.client_pid = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
            for stream in (self.server.stdout, self.server.stderr):
                if stream:
                    stream.close()
            self.server = None
        shutil.rmtree(self.home, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        self.close()
