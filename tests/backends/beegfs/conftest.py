"""A real OpenSSH sshd on loopback standing in for a BeeGFS cluster (BeeGFS itself cannot run here).

One sshd per test session (own config, key-only, its own port near 22322) listens on several
loopback addresses; each address is one "host". Its ForceCommand (stubs/session.sh) puts that
host's stub commands first on the PATH (beegfs-ctl & co. for BeeGFS 7, `beegfs` for BeeGFS 8,
systemctl) and, for client nodes, gives the session a /proc/mounts with the node's mounts table
(private mount namespace). The stubs print the fixtures under tests/fixtures/beegfs/, written in
the tools' real formats; every fixture file's `#@` header says where its format comes from.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "fixtures" / "beegfs"
STUBS = HERE / "stubs"
SSHD = "/usr/sbin/sshd"
BASE_PORT = 22322

V7_TOOLS = ("beegfs-ctl", "beegfs-df", "beegfs-check-servers", "systemctl")
V8_TOOLS = ("beegfs", "systemctl")


@dataclass(frozen=True)
class FakeHost:
    ip: str
    tools: tuple[str, ...] = ()
    scenario: tuple[str, ...] = ()  # fixture dirs, later ones override earlier ones
    proc_mounts: str | None = None  # fixture file for the node's /proc/mounts


# Loopback address -> what that host is. Tests pick hosts by name through Lab.ip().
HOSTS = {
    "v7-good": FakeHost("127.0.1.1", V7_TOOLS, ("v7/good",)),
    "v7-unreachable-storage": FakeHost("127.0.1.2", V7_TOOLS, ("v7/good", "v7/unreachable_storage")),
    "v7-needs-resync": FakeHost("127.0.1.3", V7_TOOLS, ("v7/good", "v7/needs_resync")),
    "v7-full-target": FakeHost("127.0.1.4", V7_TOOLS, ("v7/good", "v7/full_target")),
    "v7-garbage": FakeHost("127.0.1.5", V7_TOOLS, ("v7/good", "v7/garbage")),
    "v8-good": FakeHost("127.0.1.6", V8_TOOLS, ("v8/good",)),
    "v8-degraded": FakeHost("127.0.1.7", V8_TOOLS, ("v8/good", "v8/degraded")),
    "no-tools": FakeHost("127.0.1.8", ("systemctl",), ("v7/good",)),
    "v7-low-pool": FakeHost("127.0.1.9", V7_TOOLS, ("v7/good", "v7/low_pool")),
    "v7-check-variants": FakeHost("127.0.1.10", V7_TOOLS, ("v7/good", "v7/check_servers_variants")),
    "v7-optional-broken": FakeHost("127.0.1.11", V7_TOOLS, ("v7/good", "v7/check_servers_unexpected")),
    "v8-low-capacity": FakeHost("127.0.1.12", V8_TOOLS, ("v8/good", "v8/low_capacity")),
    "v8-table-only": FakeHost("127.0.1.13", V8_TOOLS, ("v8/good", "v8/table_only")),
    "client-mounted": FakeHost("127.0.1.20", ("systemctl",), ("clients/mounted",), "clients/mounted/proc_mounts.txt"),
    "client-unmounted": FakeHost("127.0.1.21", ("systemctl",), ("clients/unmounted",), "clients/unmounted/proc_mounts.txt"),
    "probe-node": FakeHost("127.0.1.30"),
}
# Nothing listens here: a client host that cannot be reached.
DEAD_HOST = "127.0.1.99"


def _free_port() -> int:
    for port in range(BASE_PORT, BASE_PORT + 50):
        with socket.socket() as s:
            try:
                s.bind(("127.0.1.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port near 22322 for the test sshd")


def _build_host(root: Path, host: FakeHost) -> None:
    hdir = root / "hosts" / host.ip
    (hdir / "bin").mkdir(parents=True)
    (hdir / "out").mkdir()
    for tool in host.tools:
        (hdir / "bin" / tool).symlink_to(root / "stubs" / tool)
    for scenario in host.scenario:
        for f in (FIXTURES / scenario).iterdir():
            if f.is_file():
                shutil.copy(f, hdir / "out" / f.name)
    if host.proc_mounts:
        shutil.copy(FIXTURES / host.proc_mounts, hdir / "proc_mounts")


SSHD_CONFIG = """\
# Private sshd for the BeeGFS tests: loopback only, key-only, root from {root}
Port {port}
{listen}
HostKey {root}/host_ed25519_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel INFO
MaxStartups 100:30:200
MaxSessions 100
SetEnv STUB_ROOT={root}
ForceCommand {root}/stubs/session.sh
"""


@dataclass
class Lab:
    root: Path
    port: int
    client_key: Path
    known_hosts: Path
    user: str

    def ip(self, name: str) -> str:
        return HOSTS[name].ip

    def settings(self, management: str, clients: tuple[str, ...] = (), **extra: Any):
        from cockpit.config import BeegfsSettings

        return BeegfsSettings(
            management_host=self.ip(management),
            client_hosts=[self.ip(c) if c in HOSTS else c for c in clients],
            ssh_user=self.user,
            ssh_port=self.port,
            ssh_key=str(self.client_key),
            known_hosts=str(self.known_hosts),
            command_timeout=10.0,
            **extra,
        )


def start_lab(root: Path) -> tuple[Lab, subprocess.Popen]:
    """Build the fake hosts under `root` and start the sshd (also used by benchmarks/)."""
    os.chmod(root, 0o755)
    shutil.copytree(STUBS, root / "stubs")
    for host in HOSTS.values():
        _build_host(root, host)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "host_ed25519_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "client_key")], check=True)
    shutil.copy(root / "client_key.pub", root / "authorized_keys")
    os.chmod(root / "authorized_keys", 0o644)
    port = _free_port()
    listen = "\n".join(f"ListenAddress {h.ip}" for h in HOSTS.values())
    (root / "sshd_config").write_text(SSHD_CONFIG.format(root=root, port=port, listen=listen))
    host_pub = (root / "host_ed25519_key.pub").read_text().split()[:2]
    (root / "known_hosts").write_text(
        "".join(f"[{h.ip}]:{port} {host_pub[0]} {host_pub[1]}\n" for h in HOSTS.values()))
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation dir
    subprocess.run([SSHD, "-t", "-f", str(root / "sshd_config")], check=True)
    proc = subprocess.Popen([SSHD, "-D", "-f", str(root / "sshd_config"), "-E", str(root / "sshd.log")])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((HOSTS["v7-good"].ip, port), timeout=0.5).close()
            break
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_lab(proc)
                log = (root / "sshd.log").read_text() if (root / "sshd.log").exists() else ""
                raise RuntimeError(f"test sshd did not start: {log[-2000:]}") from exc
            time.sleep(0.05)
    import getpass

    lab = Lab(root=root, port=port, client_key=root / "client_key", known_hosts=root / "known_hosts",
              user=getpass.getuser())
    return lab, proc


def stop_lab(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the BeeGFS test sshd logs in as root (run the tests as root, as CI does)"
    for tool in (SSHD, shutil.which("ssh-keygen"), shutil.which("unshare")):
        if not tool or not os.path.exists(tool):
            return f"needs openssh-server, ssh-keygen and util-linux unshare (missing {tool})"
    return None


@pytest.fixture(scope="session")
def beegfs_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    lab, proc = start_lab(tmp_path_factory.mktemp("beegfs-lab"))
    try:
        yield lab
    finally:
        stop_lab(proc)
