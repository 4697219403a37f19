"""libvirt fixtures: test-driver host files of our own, and (once per session) a private libvirtd
booting a tiny kernel + busybox VM under QEMU TCG. libvirtd is stopped at session end."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.backends.libvirt import hostxml


@pytest.fixture
def lab_uri(tmp_path: Path) -> str:
    """The conflict lab (every kind of conflict present)."""
    return hostxml.write(tmp_path / "lab.xml", hostxml.lab_functions(), hostxml.conflict_vms())


@pytest.fixture
def clean_lab_uri(tmp_path: Path) -> str:
    """The same hardware with only a quiet VM: for provisioning."""
    return hostxml.write(tmp_path / "clean.xml", hostxml.lab_functions(), [hostxml.Vm("idle", True, [])])


def _system_libvirtd_alive() -> bool:
    path = "/run/libvirt/libvirt-sock"
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="session")
def qemu_host(tmp_path_factory: pytest.TempPathFactory):
    """(uri, kernel, initrd, workdir) of a real libvirtd with the QEMU driver (TCG)."""
    if os.geteuid() != 0:
        pytest.skip("the real libvirtd test needs root (CI runs as root)")
    for tool in ("libvirtd", "qemu-system-x86_64", "apt-get", "dpkg-deb", "cpio"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/setup.sh installs it)")
    from tests.backends.libvirt import tinyvm

    kernel, initrd = tinyvm.build()
    work = tmp_path_factory.mktemp("qemu")
    if _system_libvirtd_alive():
        yield "qemu:///system", kernel, initrd, work
        return
    daemon = tinyvm.Libvirtd(Path("/var/tmp/cockpit-libvirtd"))
    daemon.start()
    try:
        yield daemon.uri, kernel, initrd, work
    finally:
        daemon.stop()
