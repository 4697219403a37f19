"""Debian chroots that carry a newer Slurm than the host's, for the lab.

A release's chroot is built once with debootstrap from the Debian mirror this machine's apt uses
and cached under /var/tmp, keyed by release and package list (a stamp file says what was built;
a missing or different stamp, or a missing daemon, means rebuild). A build goes into a temporary
directory and is renamed into place, under a lock file, so two processes never see half a
chroot.

Each running lab gets its own overlay of the cached chroot (the cache itself stays untouched),
with /proc, /dev and the lab's own directory (bind-mounted at the same path, so every path in
slurm.conf means the same inside and outside) mounted into it. `release()` undoes all of that,
lazily when a mount is busy.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

CACHE = Path(os.environ.get("COCKPIT_CHROOT_CACHE", "/var/tmp/cockpit-slurm-chroots"))
APT_SOURCES = Path("/etc/apt")
# The Slurm release each Debian suite ships (the host's bookworm 22.05 needs no chroot).
SUITES = {"24.11": "trixie", "26.05": "sid"}
# No mariadb-server: its 11.8 makes these slurmdbd releases die at start-up, so the lab runs the
# host's MariaDB (see slurm_lab._db_layout).
PACKAGES = ("slurm-wlm", "slurmrestd", "slurm-client", "munge", "slurm-wlm-jwt-plugin", "slurmdbd",
            "slurm-wlm-mysql-plugin", "openssh-server")
# What a usable chroot must hold (a build that died half-way lacks some of them).
REQUIRED = ("usr/sbin/slurmctld", "usr/sbin/slurmd", "usr/sbin/slurmrestd", "usr/sbin/slurmdbd", "usr/sbin/munged",
            "usr/sbin/sshd", "usr/bin/squeue", "usr/bin/sacct", "usr/bin/setpriv")
STAMP = ".cockpit-chroot.json"
BUILD_TIMEOUT_S = 900


class ChrootError(RuntimeError):
    """A chroot could not be built, mounted or released; the message says what and where."""


# -- the mirror ----------------------------------------------------------------------------------
def debian_mirror(apt_dir: Path = APT_SOURCES) -> str:
    """The Debian archive URI this machine's apt uses (deb822 .sources or one-line .list files)."""
    files = sorted((apt_dir / "sources.list.d").glob("*.sources")) + sorted((apt_dir / "sources.list.d").glob("*.list"))
    if (apt_dir / "sources.list").exists():
        files.insert(0, apt_dir / "sources.list")
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        uris = re.findall(r"^\s*URIs:\s*(\S+)", text, re.M | re.I)
        uris += re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
        for uri in uris:
            if uri.rstrip("/").endswith("/debian") and uri.startswith(("http://", "https://")):
                return str(uri).rstrip("/")
    raise ChrootError(f"no Debian archive (a URI ending in /debian) in {apt_dir}/sources.list or "
                      f"{apt_dir}/sources.list.d: the chroot has nowhere to come from")


# -- the cache -----------------------------------------------------------------------------------
def cache_key(release: str, packages: tuple[str, ...] = PACKAGES) -> str:
    return hashlib.sha256(json.dumps([release, SUITES[release], sorted(packages)]).encode()).hexdigest()[:12]


def cached_path(release: str, packages: tuple[str, ...] = PACKAGES) -> Path:
    return CACHE / f"{SUITES[release]}-{cache_key(release, packages)}"


def read_stamp(root: Path) -> dict[str, Any] | None:
    try:
        stamp = json.loads((root / STAMP).read_text())
        return stamp if isinstance(stamp, dict) else None
    except (OSError, ValueError):
        return None


def usable(root: Path, release: str, packages: tuple[str, ...] = PACKAGES) -> bool:
    stamp = read_stamp(root)
    return (stamp is not None and stamp.get("key") == cache_key(release, packages)
            and all((root / p).exists() for p in REQUIRED))


def _slurm_version(root: Path) -> str | None:
    try:
        done = subprocess.run(["chroot", str(root), "slurmctld", "-V"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().split()[-1] if done.returncode == 0 and done.stdout.strip() else None


def ensure(release: str, packages: tuple[str, ...] = PACKAGES, progress: Callable[[str], None] = lambda m: None) -> Path:
    """The cached chroot for `release`, built first when missing, stale or broken."""
    if release not in SUITES:
        raise ChrootError(f"no chroot for Slurm {release}: choose one of {', '.join(SUITES)}")
    final = cached_path(release, packages)
    if usable(final, release, packages):
        return final
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second builder waits here, then finds the cache
        if usable(final, release, packages):
            return final
        if final.exists():  # stale or broken: move it aside, then delete
            aside = Path(tempfile.mkdtemp(prefix=f".stale-{final.name}-", dir=CACHE))
            final.rename(aside / "root")
            shutil.rmtree(aside, ignore_errors=True)
        _build(release, packages, final, progress)
    return final


def _build(release: str, packages: tuple[str, ...], final: Path, progress: Callable[[str], None]) -> None:
    if shutil.which("debootstrap") is None:
        raise ChrootError("debootstrap is not installed (apt-get install debootstrap): "
                          f"it builds the Slurm {release} chroot")
    mirror = debian_mirror()
    suite = SUITES[release]
    work = Path(tempfile.mkdtemp(prefix=f".build-{final.name}-", dir=CACHE))
    target = work / "root"
    log = CACHE / f"{final.name}.build.log"
    progress(f"building the Debian {suite} chroot (Slurm {release}) from {mirror}; log {log}")
    started = time.monotonic()
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite, str(target), mirror]
    try:
        with open(log, "w") as out:
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=BUILD_TIMEOUT_S)
        if done.returncode != 0:
            tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-3:]
            reach = " (is the mirror reachable from here?)" if any(
                w in " ".join(tail) for w in ("Failed getting", "Couldn't download", "resolve", "unreachable")) else ""
            raise ChrootError(f"debootstrap {suite} from {mirror} failed (exit {done.returncode}){reach}: "
                              f"{' / '.join(tail)} (log: {log})")
        missing = [p for p in REQUIRED if not (target / p).exists()]
        if missing:
            raise ChrootError(f"the {suite} chroot lacks {', '.join(missing)} after debootstrap (log: {log})")
        stamp = {"key": cache_key(release, packages), "release": release, "suite": suite, "mirror": mirror,
                 "packages": sorted(packages), "slurm": _slurm_version(target),
                 "build_s": round(time.monotonic() - started, 1), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                            time.gmtime())}
        (target / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
        target.rename(final)
        progress(f"built the {suite} chroot in {stamp['build_s']} s (Slurm {stamp['slurm']})")
    except subprocess.TimeoutExpired:
        raise ChrootError(f"debootstrap {suite} from {mirror} took longer than {BUILD_TIMEOUT_S} s (log: {log})") from None
    finally:
        _unmount_under(work)  # debootstrap leaves /proc and friends mounted when it fails
        shutil.rmtree(work, ignore_errors=True)


# -- one lab's view of a chroot ------------------------------------------------------------------
def _mounts() -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            points.append(line.split()[4].replace("\\040", " "))
    return points


def _unmount_under(path: Path) -> list[str]:
    """Unmount everything at or below `path`, deepest first, lazily when busy; returns what stays."""
    prefix = str(path.resolve())
    for point in sorted((p for p in _mounts() if p == prefix or p.startswith(prefix + "/")), key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    return [p for p in _mounts() if p == prefix or p.startswith(prefix + "/")]


@dataclass(frozen=True)
class LabChroot:
    """Where one lab's overlay of a cached chroot lives (outside the lab directory, so removing
    the lab directory can never walk into a mounted /dev)."""

    lab_root: Path

    @property
    def base(self) -> Path:
        return CACHE / "labs" / hashlib.sha256(str(self.lab_root).encode()).hexdigest()[:12]

    @property
    def merged(self) -> Path:
        return self.base / "merged"

    def mounted(self) -> list[str]:
        prefix = str(self.merged)
        return [p for p in _mounts() if p == prefix or p.startswith(prefix + "/")]

    def attach(self, image: Path) -> Path:
        """Mount an overlay of `image` with /proc, /dev and the lab directory; returns its root."""
        if self.mounted():
            raise ChrootError(f"{self.merged} is still mounted from an earlier lab: `cockpit lab down --dir "
                              f"{self.lab_root}` first")
        shutil.rmtree(self.base, ignore_errors=True)
        upper, work = self.base / "upper", self.base / "work"
        for d in (upper, work, self.merged):
            d.mkdir(parents=True)
        (self.base / "lab").write_text(str(self.lab_root) + "\n")
        try:
            self._mount(["-t", "overlay", "overlay", "-o", f"lowerdir={image},upperdir={upper},workdir={work}",
                         str(self.merged)])
            self._mount(["-t", "proc", "proc", str(self.merged / "proc")])
            self._mount(["--bind", "/dev", str(self.merged / "dev")])
            inside = self.merged / str(self.lab_root).lstrip("/")
            inside.mkdir(parents=True, exist_ok=True)
            self._mount(["--bind", str(self.lab_root), str(inside)])
            (self.merged / "run" / "sshd").mkdir(parents=True, exist_ok=True)
            # Name lookups as on the host (mariadb-install-db insists that the host name resolves).
            shutil.copyfile("/etc/hosts", self.merged / "etc" / "hosts")
        except BaseException:
            self.detach()
            raise
        return self.merged

    def _mount(self, args: list[str]) -> None:
        done = subprocess.run(["mount", *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise ChrootError(f"mount {' '.join(args)} failed: {done.stderr.strip()}")

    def detach(self) -> None:
        """Unmount the lab's mounts (lazily if busy) and delete its overlay's private files."""
        left = _unmount_under(self.merged)
        if left:
            raise ChrootError(f"still mounted after umount -l: {', '.join(left)}")
        shutil.rmtree(self.base, ignore_errors=True)
