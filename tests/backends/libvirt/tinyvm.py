"""Build (once, cached under /var/tmp) a bootable kernel + busybox initramfs from Debian packages,
and run a private libvirtd that boots it under QEMU TCG (KVM hangs on the CI host).

The kernel comes from `apt-get download` of the package linux-image-cloud-amd64 depends on,
unpacked with dpkg-deb (no postinst, no initramfs-tools). The init prints a marker, then waits for
the ACPI power button (evdev + button modules from the same package) so `vm.shutdown` works.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

CACHE = Path(os.environ.get("COCKPIT_TINYVM_DIR", "/var/tmp/cockpit-tinyvm"))
MARKER = "COCKPIT TINYVM BOOTED"

INIT = f"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
echo "{MARKER}: uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)s"
# The ACPI power button (what `virsh shutdown` presses) shows up as an input device once these
# two modules are in; any event on it powers the VM off cleanly.
/bin/busybox insmod /lib/evdev.ko
/bin/busybox insmod /lib/button.ko
/bin/busybox sleep 0.3
for ev in /dev/input/event*; do
  ( /bin/busybox head -c 24 "$ev" >/dev/null; echo "COCKPIT TINYVM POWER BUTTON"; /bin/busybox poweroff -f ) &
done
/bin/busybox sleep 0.5
echo "COCKPIT TINYVM READY: $(/bin/busybox ls /dev/input)"
while :; do /bin/busybox sleep 60; done
"""


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 600) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc.stdout


def kernel_path() -> Path | None:
    found = sorted(glob.glob(str(CACHE / "kroot/boot/vmlinuz-*")))
    return Path(found[-1]) if found else None


def build() -> tuple[Path, Path]:
    """(kernel, initrd), built once; later calls return the cached files."""
    CACHE.mkdir(parents=True, exist_ok=True)
    kernel = kernel_path()
    if kernel is None:
        depends = run(["apt-cache", "depends", "linux-image-cloud-amd64"])
        package = next(line.split()[1] for line in depends.splitlines() if "Depends:" in line)
        debs = glob.glob(str(CACHE / f"{package}_*.deb"))
        if not debs:
            run(["apt-get", "download", package], cwd=CACHE)
            debs = glob.glob(str(CACHE / f"{package}_*.deb"))
        run(["dpkg-deb", "-x", debs[0], str(CACHE / "kroot")])
        kernel = kernel_path()
        assert kernel is not None, "kernel package held no /boot/vmlinuz-*"
    initrd = CACHE / "initrd.img"
    init_text = CACHE / "init.sh"
    if not initrd.exists() or not init_text.exists() or init_text.read_text() != INIT:
        tree = CACHE / "initrd"
        shutil.rmtree(tree, ignore_errors=True)
        for sub in ("bin", "proc", "sys", "dev", "etc", "lib"):
            (tree / sub).mkdir(parents=True, exist_ok=True)
        for module in ("kernel/drivers/input/evdev.ko", "kernel/drivers/acpi/button.ko"):
            found = glob.glob(str(CACHE / "kroot/lib/modules/*" / module))
            if found:
                shutil.copy(found[0], tree / "lib" / Path(module).name)
        busybox = shutil.which("busybox") or "/bin/busybox"
        shutil.copy(busybox, tree / "bin" / "busybox")
        (tree / "init").write_text(INIT)
        (tree / "init").chmod(0o755)
        files = subprocess.run(["find", "."], cwd=tree, capture_output=True, text=True, check=True).stdout
        cpio = subprocess.run(["cpio", "-o", "-H", "newc"], cwd=tree, input=files.encode(), capture_output=True, check=True).stdout
        import gzip

        initrd.write_bytes(gzip.compress(cpio, compresslevel=1))
        init_text.write_text(INIT)
    return kernel, initrd


QEMU_CONF = """user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
remember_owner = 0
stdio_handler = "file"
"""


def ensure_qemu_user() -> None:
    """libvirtd's QEMU driver refuses to load without the libvirt-qemu user (Debian packaging
    normally creates it; a bare container may lack it)."""
    if subprocess.run(["getent", "group", "libvirt-qemu"], capture_output=True).returncode != 0:
        run(["groupadd", "-r", "libvirt-qemu"])
    if subprocess.run(["id", "libvirt-qemu"], capture_output=True).returncode != 0:
        run(["useradd", "-r", "-g", "libvirt-qemu", "-M", "-d", "/var/lib/libvirt", "-s", "/usr/sbin/nologin", "libvirt-qemu"])


class Libvirtd:
    """A libvirtd of our own: own config dir, own sockets (qemu+unix:///system?socket=...), so it
    never touches a system libvirtd. Stopped (and its QEMU children killed) by stop()."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self._qemu_conf = Path("/etc/libvirt/qemu.conf")
        self._saved_conf: str | None = None

    @property
    def socket(self) -> Path:
        return self.root / "run" / "libvirt-sock"

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.socket}"

    def start(self, timeout: float = 30.0) -> None:
        ensure_qemu_user()
        conf_dir = self.root / "etc"
        conf_dir.mkdir(parents=True, exist_ok=True)
        (conf_dir / "qemu.conf").write_text(QEMU_CONF)
        (self.root / "run").mkdir(parents=True, exist_ok=True)
        (conf_dir / "libvirtd.conf").write_text(
            f'unix_sock_dir = "{self.root / "run"}"\n'
            'unix_sock_group = "root"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n'
            f'log_outputs = "3:file:{self.root / "libvirtd.log"}"\n'
        )
        # The QEMU driver of a system-mode libvirtd reads /etc/libvirt/qemu.conf only: ours runs
        # QEMU as root with file-backed serial (no virtlogd without systemd). The original file is
        # put back by stop().
        self._qemu_conf = Path("/etc/libvirt/qemu.conf")
        self._saved_conf = self._qemu_conf.read_text() if self._qemu_conf.exists() else None
        self._qemu_conf.parent.mkdir(parents=True, exist_ok=True)
        self._qemu_conf.write_text(QEMU_CONF)
        log = open(self.root / "libvirtd.stdout", "wb")
        self.proc = subprocess.Popen(["libvirtd", "--config", str(conf_dir / "libvirtd.conf"),
                                      "--pid-file", str(self.root / "libvirtd.pid")],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"libvirtd exited {self.proc.returncode}: {(self.root / 'libvirtd.stdout').read_text()[-800:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("libvirtd did not create its socket in time")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        import signal

        if self._saved_conf is not None:
            self._qemu_conf.write_text(self._saved_conf)
        elif self._qemu_conf.exists():
            self._qemu_conf.unlink()

        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
