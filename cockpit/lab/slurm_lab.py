"""Start, stop and inspect a local Slurm lab: munged, slurmctld, N slurmd with fake GPUs,
and (when their packages are installed) MariaDB + slurmdbd for sacct and slurmrestd with JWT.

The host's own Slurm (Debian 12: 22.05) runs directly; a newer release (24.11, 26.05) runs in
a cached Debian chroot (cockpit/lab/chroot.py) with the lab directory at the same path inside,
plus an sshd on loopback, so the cockpit reaches it as it reaches a real controller: slurmrestd
over HTTP with JWT, or the `--json` CLI over SSH.

Everything runs as root on 127.0.0.1 from one directory. Every daemon is started with
SLURM_CONF pointing into that directory, so `down` can find exactly this lab's processes
(including slurmstepd and job processes, which outlive slurmd) by their environment and stop
them by PID: nothing else on the machine is touched, and nothing is left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from cockpit.procs import pid_alive
from cockpit.lab.slurm_conf import LabLayout, Ports, gres_conf, slurm_conf, slurmdbd_conf

DEFAULT_ROOT = Path("/tmp/cockpit-slurm-lab")
DEFAULT_BASE = 16800
HOST_RELEASE = "22.05"  # Debian 12's slurm-wlm; the others run in a chroot
RELEASES = (HOST_RELEASE, "24.11", "26.05")
JWT_PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu/slurm-wlm", "/usr/lib/aarch64-linux-gnu/slurm-wlm",
                   "/usr/lib64/slurm", "/usr/lib/slurm")
REST_USER = "slurm"  # slurmrestd refuses to run as root
TOKEN_LIFESPAN_S = 7 * 24 * 3600

Progress = Callable[[str], None]
DAEMONS = frozenset({"munged", "mariadbd", "slurmctld", "slurmd", "slurmstepd", "slurmdbd", "slurmrestd", "setpriv",
                     "sshd", "sshd-session", "sshd-auth"})


class LabError(RuntimeError):
    """The lab could not start or stop; the message says what and where the logs are."""


@dataclass(frozen=True)
class LabSpec:
    root: Path = DEFAULT_ROOT
    nodes: int = 4
    gpus: int = 2
    base: int | None = DEFAULT_BASE  # None: the first base from DEFAULT_BASE whose ports are all free
    release: str = HOST_RELEASE
    accounting: bool | None = None  # None: when slurmdbd + MariaDB are installed
    rest: bool | None = None  # None: when slurmrestd (+ its JWT plugin) is installed
    config_path: Path | None = None  # where the cockpit config goes; None: $XDG_CONFIG_HOME/cockpit/lab.yaml


@dataclass
class LabInfo:
    root: str
    conf: str
    nodes: int
    gpus: int
    base: int
    accounting: bool
    rest_url: str | None
    rest_user: str | None
    jwt_file: str | None
    config_path: str
    started_s: float = 0.0
    missing: list[str] = field(default_factory=list)  # optional parts left out, and why
    release: str = HOST_RELEASE
    slurm_version: str | None = None
    chroot: str | None = None  # the chroot the daemons run in (None: the host)
    ssh_port: int | None = None  # sshd in the chroot (root, key below)
    ssh_key: str | None = None
    known_hosts: str | None = None

    def env(self) -> dict[str, str]:
        out = {"SLURM_CONF": self.conf}
        if self.rest_url:
            out["SLURMRESTD_URL"] = self.rest_url
        return out


def default_config_path() -> Path:
    from cockpit.config import lab_config_file  # the loader merges it into the default config

    return lab_config_file()


# -- what is installed ---------------------------------------------------------------------------
def _have(*programs: str, jail: Path | None = None) -> list[str]:
    """The programs of `programs` that are missing (inside `jail` when given)."""
    if jail is None:
        return [p for p in programs if shutil.which(p) is None]
    return [p for p in programs if not any((jail / d / p).exists() for d in ("usr/sbin", "usr/bin", "sbin", "bin"))]


def _jwt_plugin_present(name: str, jail: Path | None = None) -> bool:
    return any(Path(str(jail or "/") + d, name).exists() for d in JWT_PLUGIN_DIRS)


def check_prerequisites(release: str = HOST_RELEASE) -> list[str]:
    """Problems that stop a lab from starting at all (empty when it can start)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the lab runs its daemons as root (SlurmUser=root, mknod for fake GPUs): run as root")
    if release not in RELEASES:
        problems.append(f"unknown Slurm release {release!r}: choose one of {', '.join(RELEASES)}")
    if release != HOST_RELEASE:
        from cockpit.lab.chroot import cached_path, usable

        if not usable(cached_path(release), release) and shutil.which("debootstrap") is None:
            problems.append(f"Slurm {release} runs in a Debian chroot built with debootstrap, which is not "
                            "installed (apt-get install debootstrap)")
        return problems
    missing = _have("munged", "mungekey", "slurmctld", "slurmd", "sinfo", "squeue", "scontrol", "sbatch")
    if missing:
        problems.append(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
    if not _jwt_plugin_present("auth_jwt.so"):
        problems.append("the Slurm JWT plugin is missing (apt-get install slurm-wlm-jwt-plugin)")
    return problems


# -- small process helpers -----------------------------------------------------------------------
def _env(layout: LabLayout, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SLURMRESTD_"))}
    env["SLURM_CONF"] = str(layout.conf)
    env.update(extra)
    return env


def _in(layout: LabLayout, argv: list[str]) -> list[str]:
    """argv as run in the lab: inside its chroot when it has one."""
    return ["chroot", str(layout.jail), *argv] if layout.jail else argv


def _run(argv: list[str], layout: LabLayout, *, timeout: float = 30, check: bool = True,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(_in(layout, argv), env=env or _env(layout), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise LabError(f"{argv[0]} gave no answer within {timeout:g} s (logs: {layout.log})") from None
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise LabError(f"{' '.join(argv[:3])} failed (exit {done.returncode}): {' / '.join(detail)} "
                       f"(logs: {layout.log})")
    return done


def _wait(predicate: Callable[[], bool], timeout: float, what: str, layout: LabLayout,
          log: str | None = None) -> None:
    """Poll until `predicate()`; on timeout the error quotes the end of `log` (a file in the
    lab's log folder), since a failed start removes the lab directory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = ""
    if log:
        try:
            lines = [ln for ln in (layout.log / log).read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            lines = [f"(no {log})"]
        tail = f"; {log}: " + " / ".join(lines[-3:])
    raise LabError(f"{what} within {timeout:g} s (logs: {layout.log}){tail}")


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def lab_processes(layout: LabLayout) -> list[int]:
    """PIDs of every process of this lab: pid files plus anything whose environment carries
    this lab's SLURM_CONF (slurmstepd and job processes outlive slurmd)."""
    found: set[int] = set()
    if layout.pids.is_dir():
        for pid_file in layout.pids.glob("*.pid"):
            pid = _read_pid(pid_file)
            if pid and pid_alive(pid):
                found.add(pid)
    marker = f"SLURM_CONF={layout.conf}".encode()
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
        except OSError:
            continue
        if marker not in environ:
            continue
        # Only daemons and job processes: a user's shell that exported this SLURM_CONF is spared.
        try:
            comm = Path(f"/proc/{entry.name}/comm").read_text().strip()
        except OSError:
            continue
        if comm in DAEMONS or any(v.startswith(b"SLURM_JOB_ID=") for v in environ):
            found.add(int(entry.name))
    return sorted(p for p in found if pid_alive(p))


# -- up ------------------------------------------------------------------------------------------
def _prepare_dirs(layout: LabLayout, nodes: int, gpus: int) -> None:
    for sub in ("etc", "state", "log", "pids", "munge", "dev", "out", "mysql"):
        (layout.root / sub).mkdir(parents=True, exist_ok=True)
    for n in range(1, nodes + 1):
        (layout.root / "spool" / f"node{n}").mkdir(parents=True, exist_ok=True)
    os.chmod(layout.root, 0o755)
    os.chmod(layout.munge, 0o755)  # munged insists: not group/world writable
    os.chmod(layout.out, 0o1777)  # jobs of any user (slurmrestd's) write their output here
    for i in range(gpus):
        dev = layout.dev / f"nvidia{i}"
        if not dev.exists():
            os.mknod(dev, 0o666 | 0o020000, os.makedev(195, i))  # S_IFCHR, NVIDIA's major
    if not layout.jwt_key.exists():
        layout.jwt_key.write_bytes(secrets.token_bytes(32))
    os.chmod(layout.jwt_key, 0o600)


def _start_munge(layout: LabLayout) -> None:
    key = layout.munge / "munge.key"
    if not key.exists():
        _run(["mungekey", "--create", f"--keyfile={key}"], layout)
    os.chmod(key, 0o600)
    _run(["munged", f"--socket={layout.munge_socket}", f"--key-file={key}",
          f"--log-file={layout.munge / 'munged.log'}", f"--pid-file={layout.pids / 'munged.pid'}",
          f"--seed-file={layout.munge / 'munged.seed'}"], layout)


def _db_layout(layout: LabLayout) -> LabLayout:
    """Where MariaDB runs: always on the host (Debian 12: 10.11). The chroots' own MariaDB 11.8
    (Debian 13 / unstable) makes Slurm 24.11 and 26.05's slurmdbd die at start-up
    ("_check_mysql_concat_is_sane: null result", error 5027, seen here). The lab directory has
    the same path on both sides, so only the binaries differ."""
    return LabLayout(layout.root)


def _start_accounting(layout: LabLayout, ports: Ports, progress: Progress) -> None:
    db = _db_layout(layout)
    data = layout.mysql / "data"
    sock = layout.mysql / "mysqld.sock"
    if not (data / "mysql").is_dir():
        progress("initialising MariaDB")
        _run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
              "--auth-root-authentication-method=socket", "--skip-test-db"], db, timeout=120)
    log = open(layout.log / "mariadb.out", "ab")
    proc = subprocess.Popen(_in(db,
        ["mariadbd", "--no-defaults", "--user=root", f"--datadir={data}", f"--socket={sock}",
         f"--pid-file={layout.pids / 'mariadbd.pid'}", "--bind-address=127.0.0.1", f"--port={ports.db}",
         f"--log-error={layout.log / 'mariadb.log'}", "--innodb-buffer-pool-size=32M", "--skip-log-bin",
         "--performance-schema=off"]),
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_env(layout), start_new_session=True)
    log.close()
    (layout.pids / "mariadbd-launcher.pid").write_text(str(proc.pid))
    client = ["mariadb", "--no-defaults", "-S", str(sock), "-uroot"]
    def answers() -> bool:
        if proc.poll() is not None:  # e.g. its port was taken after we chose it
            _wait(lambda: False, 0, f"MariaDB exited with {proc.returncode}", layout, log="mariadb.log")
        return _run([*client, "-e", "select 1"], db, check=False).returncode == 0

    _wait(answers, 60, "MariaDB did not answer", layout, log="mariadb.log")
    password = secrets.token_hex(12)
    _run([*client, "-e",
          f"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}'; "
          f"ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}'; "
          "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"], db)
    dbd_conf = layout.etc / "slurmdbd.conf"  # slurmdbd reads it next to slurm.conf
    dbd_conf.write_text(slurmdbd_conf(layout, ports, password))
    os.chmod(dbd_conf, 0o600)
    progress("starting slurmdbd")
    _run(["slurmdbd"], layout)
    _wait(lambda: _run(["sacctmgr", "-n", "show", "cluster"], layout, check=False, timeout=10).returncode == 0,
          90, "slurmdbd did not answer", layout, log="slurmdbd.log")
    _run(["sacctmgr", "-i", "add", "cluster", "lab"], layout, check=False)
    _run(["sacctmgr", "-i", "add", "account", "research", "Description=lab", "Organization=lab"], layout, check=False)
    for user in ("root", REST_USER):
        _run(["sacctmgr", "-i", "add", "user", user, "Account=research"], layout, check=False)


def _idle_nodes(layout: LabLayout) -> int:
    done = _run(["sinfo", "-h", "-N", "-t", "idle", "-o", "%N"], layout, check=False, timeout=10)
    return len(done.stdout.split()) if done.returncode == 0 else 0


def _rest_plugins(release: str, accounting: bool) -> str:
    # 22.05 names its plugins by openapi version; from 23.11 they are openapi/slurmctld and
    # openapi/slurmdbd. The slurmdb one is fatal without slurmdbd.
    if release == HOST_RELEASE:
        return "openapi/v0.0.38,openapi/dbv0.0.38" if accounting else "openapi/v0.0.38"
    return "openapi/slurmctld,openapi/slurmdbd" if accounting else "openapi/slurmctld"


def _start_rest(layout: LabLayout, ports: Ports, accounting: bool, release: str) -> tuple[str, str]:
    specs = _rest_plugins(release, accounting)
    log = open(layout.log / "slurmrestd.log", "ab")
    # SLURM_JWT=daemon is required for rest_auth/jwt; setpriv execs, so the PID is slurmrestd's own.
    proc = subprocess.Popen(_in(layout,
        ["setpriv", f"--reuid={REST_USER}", f"--regid={REST_USER}", "--clear-groups",
         "slurmrestd", "-a", "rest_auth/jwt", "-s", specs, f"127.0.0.1:{ports.slurmrestd}"]),
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_env(layout, SLURM_JWT="daemon"),
        start_new_session=True)
    log.close()
    (layout.pids / "slurmrestd.pid").write_text(str(proc.pid))
    url = f"http://127.0.0.1:{ports.slurmrestd}"

    def answers() -> bool:
        if proc.poll() is not None:
            raise LabError(f"slurmrestd exited with {proc.returncode} (log: {layout.log / 'slurmrestd.log'})")
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", ports.slurmrestd)) == 0

    _wait(answers, 60, "slurmrestd did not listen", layout, log="slurmrestd.log")
    token = _run(["scontrol", "token", f"username={REST_USER}", f"lifespan={TOKEN_LIFESPAN_S}"], layout)
    value = token.stdout.strip().partition("=")[2]
    layout.jwt_token.write_text(value + "\n")
    os.chmod(layout.jwt_token, 0o600)
    return url, str(layout.jwt_token)


def _start_sshd(layout: LabLayout, ports: Ports) -> tuple[str, str]:
    """sshd inside the chroot on 127.0.0.1, root by key only; returns (client key, known_hosts)."""
    ssh = layout.ssh
    ssh.mkdir(mode=0o700, exist_ok=True)
    host_key, client_key = ssh / "host_ed25519_key", ssh / "client_ed25519_key"
    for key in (host_key, client_key):
        if not key.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"cockpit-lab-{key.stem}", "-f", str(key)],
                 layout)
    (ssh / "authorized_keys").write_text((ssh / "client_ed25519_key.pub").read_text())
    public = (ssh / "host_ed25519_key.pub").read_text().split()
    known_hosts = ssh / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{ports.sshd} {public[0]} {public[1]}\n")
    config = ssh / "sshd_config"
    config.write_text(f"""# Written by `cockpit lab up`: root by key only, on loopback, for the lab's CLI over SSH.
Port {ports.sshd}
ListenAddress 127.0.0.1
HostKey {host_key}
AuthorizedKeysFile {ssh / "authorized_keys"}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {layout.pids / "sshd.pid"}
""")
    _run(["/usr/sbin/sshd", "-f", str(config), "-E", str(layout.log / "sshd.log")], layout)

    def listens() -> bool:
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", ports.sshd)) == 0

    _wait(listens, 60, "sshd in the chroot did not listen", layout, log="sshd.log")
    return str(client_key), str(known_hosts)


def lab_config(info: LabInfo) -> str:
    """The cockpit config the lab writes. Host lab: the local CLI (every action works there) plus
    the slurmrestd endpoint. Chroot lab: the CLI over SSH to the chroot's sshd plus the slurmrestd
    endpoint; `transport: rest` is one edit away in both (control then goes over the CLI)."""
    slurm: dict[str, object] = {"transport": "cli", "conf": info.conf, "log_dir": str(Path(info.root) / "out")}
    if info.ssh_port:
        slurm.update(transport="ssh", ssh_host="127.0.0.1", ssh_port=info.ssh_port, ssh_user="root",
                     ssh_key=info.ssh_key, known_hosts=info.known_hosts)
    if info.rest_url:
        slurm.update(rest_url=info.rest_url, rest_user=info.rest_user, jwt_file=info.jwt_file)
    doc = {"cockpit": {"slurm": slurm}}
    head = (f"# Written by `cockpit lab up` for the Slurm {info.release} lab in {info.root}; removed by `cockpit lab down`.\n"
            f"# Use it: cockpit --config {info.config_path}   (or merge the cockpit.slurm section into your config)\n")
    return head + yaml.safe_dump(doc, sort_keys=False)


def ports_free(base: int, nodes: int) -> bool:
    for port in Ports(base).all(nodes):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base(nodes: int, start: int = DEFAULT_BASE, step: int = 200, tries: int = 20) -> int:
    """The first port base from `start` (steps of `step`) whose lab ports are all free."""
    for n in range(tries):
        if ports_free(start + n * step, nodes):
            return start + n * step
    raise LabError(f"no free port range for a slurm lab from {start} in {tries} steps of {step}")


def up(spec: LabSpec, progress: Progress = lambda m: None) -> LabInfo:
    """Start the lab; on any failure stop whatever was started and raise LabError."""
    problems = check_prerequisites(spec.release)
    if problems:
        raise LabError("; ".join(problems))
    if not 1 <= spec.nodes <= 64 or not 0 <= spec.gpus <= 16:
        raise LabError(f"nodes must be 1..64 and gpus 0..16 (got nodes={spec.nodes}, gpus={spec.gpus})")
    root = Path(spec.root).resolve()
    if lab_processes(LabLayout(root)):
        raise LabError(f"a lab is already running in {root}: `cockpit lab down --dir {root}` first")
    started = time.monotonic()
    config_path = Path(spec.config_path) if spec.config_path else default_config_path()
    jail = None
    if spec.release != HOST_RELEASE:
        from cockpit.lab.chroot import ChrootError, LabChroot, ensure

        try:
            image = ensure(spec.release, progress=progress)
            root.mkdir(parents=True, exist_ok=True)
            jail = LabChroot(root).attach(image)
        except ChrootError as exc:
            raise LabError(str(exc)) from None
    layout = LabLayout(root, jail)
    missing: list[str] = []
    accounting = spec.accounting
    if accounting is None:
        gone = _have("slurmdbd", "sacctmgr", jail=jail) + _have("mariadbd", "mariadb-install-db", "mariadb")
        accounting = not gone
        if gone:
            missing.append(f"accounting (sacct) off: {', '.join(gone)} not installed")
    rest = spec.rest
    if rest is None:
        rest = not _have("slurmrestd", "setpriv", jail=jail) and _jwt_plugin_present("rest_auth_jwt.so", jail)
        if not rest:
            missing.append("slurmrestd off: slurmrestd / its JWT plugin not installed")
    try:
        ports = Ports(spec.base if spec.base is not None else free_base(spec.nodes))
        _prepare_dirs(layout, spec.nodes, spec.gpus)
        layout.conf.write_text(slurm_conf(layout, ports, spec.nodes, spec.gpus, accounting))
        (layout.etc / "gres.conf").write_text(gres_conf(layout, spec.nodes, spec.gpus))
        if jail is not None:
            # A chroot has no cgroup filesystem: 24.11's and 26.05's slurmd refuse to start
            # without one ("cgroup filesystem not mounted") unless cgroups are off. The lab
            # tracks processes with proctrack/linuxproc anyway.
            (layout.etc / "cgroup.conf").write_text("CgroupPlugin=disabled\n")
        progress("starting munged")
        _start_munge(layout)
        if accounting:
            _start_accounting(layout, ports, progress)
        progress("starting slurmctld")
        # -c: a new lab. Jobs an earlier lab in this directory left in its state files were
        # recovered and allocated, and the nodes never came up idle ("lab up failed").
        _run(["slurmctld", "-c", "-f", str(layout.conf)], layout)
        progress(f"starting {spec.nodes} slurmd")
        for n in range(1, spec.nodes + 1):
            _run(["slurmd", "-f", str(layout.conf), "-N", f"node{n}"], layout)
        _wait(lambda: _idle_nodes(layout) == spec.nodes, 120, f"not all {spec.nodes} nodes became idle", layout,
              log="slurmctld.log")
        rest_url = jwt_file = None
        if rest:
            progress("starting slurmrestd")
            rest_url, jwt_file = _start_rest(layout, ports, accounting, spec.release)
        ssh_key = known_hosts = None
        if jail is not None:
            progress("starting sshd in the chroot")
            ssh_key, known_hosts = _start_sshd(layout, ports)
        version = _run(["sinfo", "--version"], layout, check=False).stdout.strip().split()
        info = LabInfo(root=str(layout.root), conf=str(layout.conf), nodes=spec.nodes, gpus=spec.gpus,
                       base=ports.base, accounting=accounting, rest_url=rest_url,
                       rest_user=REST_USER if rest else None, jwt_file=jwt_file, config_path=str(config_path),
                       started_s=round(time.monotonic() - started, 2), missing=missing, release=spec.release,
                       slurm_version=version[-1] if version else None, chroot=str(jail) if jail else None,
                       ssh_port=ports.sshd if jail else None, ssh_key=ssh_key, known_hosts=known_hosts)
        layout.state_file.write_text(json.dumps(asdict(info), indent=2))
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(lab_config(info))
        return info
    except BaseException:
        down(layout.root, config_path=config_path)
        raise


# -- down ----------------------------------------------------------------------------------------
def down(root: Path = DEFAULT_ROOT, *, config_path: Path | None = None, timeout: float = 20.0) -> list[int]:
    """Stop every process of the lab in `root`; returns the PIDs that were stopped.

    Jobs are cancelled first and slurmctld/slurmd shut down cleanly; then whatever is left
    (slurmstepd, job processes, munged, MariaDB, slurmrestd) gets SIGTERM, then SIGKILL."""
    layout = _layout(Path(root).resolve())
    info = read_info(layout.root)
    pids = lab_processes(layout)
    if pids and layout.conf.exists():
        ctld = _read_pid(layout.pids / "slurmctld.pid")
        if ctld and pid_alive(ctld):
            jobs = _run(["squeue", "-h", "-o", "%i"], layout, check=False, timeout=10).stdout.split()
            if jobs:
                _run(["scancel", *jobs], layout, check=False, timeout=10)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    left = _run(["squeue", "-h", "-t", "R,CG,PD", "-o", "%i"], layout, check=False, timeout=10)
                    if not left.stdout.strip():
                        break
                    time.sleep(0.2)
            _run(["scontrol", "shutdown"], layout, check=False, timeout=10)
    stopped = set(pids)
    deadline = time.monotonic() + timeout
    sent_term: set[int] = set()
    while True:
        alive = lab_processes(layout)
        stopped.update(alive)
        if not alive:
            break
        fresh = [p for p in alive if p not in sent_term]
        for pid in fresh:
            _signal(pid, signal.SIGTERM)
            sent_term.add(pid)
        if time.monotonic() > deadline:
            for pid in alive:
                _signal(pid, signal.SIGKILL)
            time.sleep(0.5)
            if lab_processes(layout):
                raise LabError(f"processes of the lab in {layout.root} survive SIGKILL: {lab_processes(layout)}")
            break
        time.sleep(0.1)
    if layout.pids.is_dir():
        for pid_file in layout.pids.glob("*.pid"):
            pid_file.unlink(missing_ok=True)
    for path in {config_path, Path(info["config_path"]) if info.get("config_path") else None}:
        if path is not None and path.exists() and str(layout.root) in path.read_text():
            path.unlink()
    layout.state_file.unlink(missing_ok=True)
    if layout.jail is not None:
        from cockpit.lab.chroot import ChrootError, LabChroot

        try:
            LabChroot(layout.root).detach()
        except ChrootError as exc:
            raise LabError(str(exc)) from None
    return sorted(stopped)


def run_in_lab(root: Path, argv: list[str], *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a Slurm command against the lab in `root` (inside its chroot when it has one)."""
    return _run(argv, _layout(Path(root).resolve()), timeout=timeout, check=False)


def _layout(root: Path) -> LabLayout:
    """The layout of the lab in `root`, with its chroot when one is mounted for it."""
    from cockpit.lab.chroot import LabChroot

    chroot = LabChroot(root)
    return LabLayout(root, chroot.merged if chroot.mounted() else None)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# -- status --------------------------------------------------------------------------------------
def read_info(root: Path) -> dict:
    try:
        return json.loads((Path(root) / "lab.json").read_text())
    except (OSError, ValueError):
        return {}


def status(root: Path = DEFAULT_ROOT) -> dict:
    layout = _layout(Path(root).resolve())
    info = read_info(layout.root)
    daemons = {}
    if layout.pids.is_dir():
        for pid_file in sorted(layout.pids.glob("*.pid")):
            pid = _read_pid(pid_file)
            daemons[pid_file.stem] = {"pid": pid, "alive": bool(pid and pid_alive(pid))}
    procs = lab_processes(layout)
    nodes = None
    if procs and layout.conf.exists():
        done = _run(["sinfo", "-h", "-N", "-o", "%N %T %G"], layout, check=False, timeout=10)
        if done.returncode == 0:
            nodes = [line.split() for line in done.stdout.splitlines() if line.strip()]
    return {"root": str(layout.root), "running": bool(procs), "processes": len(procs), "daemons": daemons,
            "nodes": nodes, "info": info or None}
