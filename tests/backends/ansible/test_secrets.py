"""Ansible secrets stay out of argv (`ps`), the artifacts and the audit log, while the playbook
still gets them; the cockpit's own secret environment (SLURM_JWT) is not handed over."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.backends.ansible.test_ops import _local_inventory, runtime  # noqa: F401 - fixture

SECRET = "S3cr3t-vault-pw-9431"
JWT = "planted-slurm-jwt-5521"


def cmdlines_holding(text: str) -> list[str]:
    hits = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in raw:
            hits.append(raw.replace(b"\0", b" ").decode(errors="replace")[:200])
    return hits


def files_holding(root: Path, *texts: str) -> list[str]:
    out = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            out += [f"{path}: {t}" for t in texts if t.encode() in data]
    return out


async def test_secret_vars_never_on_argv_nor_in_artifacts(runtime, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SLURM_JWT", JWT)
    params = {"playbook": "events.yml", "inventory": _local_inventory(tmp_path),
              "extravars": {"slow": 2}, "secret_vars": {"vault_pw": SECRET}}
    task = asyncio.create_task(runtime.invoke("ansible.run", params))
    seen: list[str] = []
    while not task.done():  # sample `ps` all through the run
        seen += cmdlines_holding(SECRET)
        await asyncio.sleep(0.1)
    result = task.result()
    assert result.ok, result.error
    assert seen == [], seen
    assert files_holding(tmp_path, SECRET, JWT) == []
    commands = list((tmp_path / "pdd").rglob("command"))
    assert commands and all('"env"' not in p.read_text() for p in commands)
    assert not list((tmp_path / "pdd").rglob("vars/*.json"))  # the 0600 vars file is gone after the run


def test_vars_file_left_by_a_killed_cockpit_is_removed(tmp_path):
    import subprocess
    import sys

    from backends.ansible.runner import PlaybookRunner

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    runner = PlaybookRunner(tmp_path / "pdd", tmp_path)
    folder = tmp_path / "pdd" / "vars"
    folder.mkdir(parents=True)
    stale = folder / f"20260101-000000-abcdef.{dead.pid}.json"
    stale.write_text('{"vault_pw": "left-behind"}')
    fresh = runner._write_vars("run2", {"vault_pw": "now"})
    assert not stale.exists() and fresh.exists()
    assert oct(fresh.stat().st_mode & 0o777) == "0o600"
