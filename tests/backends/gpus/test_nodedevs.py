"""Node devices of a test-driver host: the bound drivers come from the host file, which is read
again only when it changed (the gpus source asks on every refresh, every two seconds)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from backends.gpus import nodedevs
from backends.gpus.nodedevs import host_file_drivers
from tests.backends.libvirt import hostxml


def _host_file(path: Path, h100_driver: str) -> Path:
    functions = hostxml.lab_functions()
    for f in functions:
        if f.address == "0000:41:00.0":
            f.driver = h100_driver
    hostxml.write(path, functions, [])
    return path


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """The host files ElementTree parses, in order."""
    seen: list[str] = []
    real = ET.parse

    def counting(source, *args, **kwargs):
        seen.append(str(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(nodedevs.ET, "parse", counting)
    return seen


def test_an_unchanged_host_file_is_parsed_once(tmp_path: Path, parses: list[str]) -> None:
    path = _host_file(tmp_path / "host.xml", "nvidia")
    first = host_file_drivers(str(path))
    assert first["0000:41:00.0"] == "nvidia" and first["0000:42:00.0"] == "vfio-pci"
    assert [host_file_drivers(str(path)) for _ in range(5)] == [first] * 5
    assert parses == [str(path)]


def test_an_edited_host_file_is_read_again(tmp_path: Path, parses: list[str]) -> None:
    path = _host_file(tmp_path / "host.xml", "nvidia")
    assert host_file_drivers(str(path))["0000:41:00.0"] == "nvidia"
    _host_file(path, "vfio-pci")
    stat = path.stat()  # a later modification time, even within the file system's clock tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert host_file_drivers(str(path))["0000:41:00.0"] == "vfio-pci"
    assert len(parses) == 2


def test_what_a_caller_does_to_the_answer_stays_with_it(tmp_path: Path) -> None:
    path = _host_file(tmp_path / "host.xml", "nvidia")
    host_file_drivers(str(path)).clear()
    assert host_file_drivers(str(path))["0000:41:00.0"] == "nvidia"


def test_a_missing_host_file_has_no_drivers(tmp_path: Path) -> None:
    assert host_file_drivers(str(tmp_path / "gone.xml")) == {}
