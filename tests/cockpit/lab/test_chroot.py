"""cockpit/lab/chroot.py: where the chroot comes from, when the cache is good, and a clear error
when debootstrap cannot reach the mirror (a real debootstrap run against a closed port)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cockpit.lab import chroot


def test_mirror_from_deb822_sources(tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "nodesource.sources").write_text("Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n")
    (d / "debian.sources").write_text(
        "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://mirror.example/debian\n"
        "Suites: bookworm\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n")
    assert chroot.debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_from_one_line_list(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("# comment\ndeb [arch=amd64] http://ftp.example.org/debian/ bookworm main\n")
    assert chroot.debian_mirror(tmp_path) == "http://ftp.example.org/debian"


def test_no_debian_mirror_is_named(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "other.list").write_text("deb https://packages.cloud.google.com/apt cloud main\n")
    with pytest.raises(chroot.ChrootError, match="no Debian archive"):
        chroot.debian_mirror(tmp_path)


def test_cache_key_follows_release_and_packages_not_their_order():
    assert chroot.cache_key("24.11", ("a", "b")) == chroot.cache_key("24.11", ("b", "a"))
    assert chroot.cache_key("24.11", ("a", "b")) != chroot.cache_key("24.11", ("a", "b", "c"))
    assert chroot.cache_key("24.11") != chroot.cache_key("26.05")
    assert chroot.cached_path("26.05").name.startswith("sid-")


def _fake_image(root: Path, release: str, key: str | None = None, skip: str | None = None) -> None:
    for rel in chroot.REQUIRED:
        if rel != skip:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).touch()
    (root / chroot.STAMP).write_text(json.dumps({"key": key or chroot.cache_key(release)}))


def test_usable_only_with_a_matching_stamp_and_every_daemon(tmp_path):
    good, stale, broken, unstamped = (tmp_path / n for n in ("good", "stale", "broken", "unstamped"))
    _fake_image(good, "24.11")
    _fake_image(stale, "24.11", key="0" * 12)
    _fake_image(broken, "24.11", skip="usr/sbin/slurmctld")
    _fake_image(unstamped, "24.11")
    (unstamped / chroot.STAMP).unlink()
    assert chroot.usable(good, "24.11")
    assert not chroot.usable(good, "26.05")
    assert not any(chroot.usable(p, "24.11") for p in (stale, broken, unstamped))


def test_ensure_returns_a_good_cache_without_building(tmp_path, monkeypatch):
    monkeypatch.setattr(chroot, "CACHE", tmp_path)
    _fake_image(chroot.cached_path("24.11"), "24.11")
    monkeypatch.setattr(chroot, "_build", lambda *a: pytest.fail("rebuilt a good cache"))
    assert chroot.ensure("24.11") == tmp_path / chroot.cached_path("24.11").name


def test_unknown_release_is_refused():
    with pytest.raises(chroot.ChrootError, match="no chroot for Slurm 23.02"):
        chroot.ensure("23.02")


@pytest.mark.needs_root
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("debootstrap") is None, reason="needs root and debootstrap")
def test_unreachable_mirror_fails_clearly_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(chroot, "CACHE", tmp_path)
    monkeypatch.setattr(chroot, "debian_mirror", lambda: "http://127.0.0.1:9/debian")  # discard port: refused
    _fake_image(chroot.cached_path("24.11"), "24.11", skip="usr/sbin/sshd")  # broken: must be rebuilt
    with pytest.raises(chroot.ChrootError) as err:
        chroot.ensure("24.11")
    message = str(err.value)
    assert "debootstrap trixie from http://127.0.0.1:9/debian failed" in message and "log:" in message
    assert "is the mirror reachable" in message
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith((".lock", ".build.log")))
    assert left == [], left  # neither the broken cache nor a half-built chroot stays
