"""Run the throughput probe here or on client nodes (in parallel) and keep its history.

History: one JSON object per line in `$XDG_STATE_HOME/cockpit/storage-probes.jsonl`, appended
with fsync. The storage source shows the newest entry as `last_probe`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import uuid
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from backends.beegfs import probe_script
from backends.ssh.pool import SshError, SshPool, SshTarget
from cockpit.paths import state_dir

SCRIPT_SOURCE = Path(probe_script.__file__).read_text(encoding="utf-8")
LOCAL = "local"


def history_path() -> Path:
    return state_dir() / "storage-probes.jsonl"


def append_history(record: dict[str, Any], path: Path | None = None) -> None:
    path = path or history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def load_history(limit: int = 50, path: Path | None = None) -> list[dict[str, Any]]:
    """Newest last. Lines that are not JSON objects (a torn write) are skipped."""
    path = path or history_path()
    if not path.exists():
        return []
    tail: deque[dict[str, Any]] = deque(maxlen=limit)
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                tail.append(entry)
    return list(tail)


def last_probe(path: Path | None = None) -> dict[str, Any] | None:
    history = load_history(1, path)
    return history[-1] if history else None


async def probe_local(path: str, size_mb: int, files: int) -> dict[str, Any]:
    try:
        result = await asyncio.to_thread(probe_script.run_probe, path, size_mb, files)
    except (probe_script.ProbeError, OSError) as exc:
        raise ProbeFailed(f"{LOCAL}: {exc}") from None
    return {**result, "node": LOCAL}


class ProbeFailed(RuntimeError):
    pass


async def probe_remote(pool: SshPool, target: SshTarget, node: str, path: str, size_mb: int, files: int,
                       timeout: float) -> dict[str, Any]:
    command = "python3 - " + shlex.join(["--path", path, "--size-mb", str(size_mb), "--files", str(files)])
    try:
        result = await pool.run(target, command, input=SCRIPT_SOURCE, timeout=timeout)
    except SshError as exc:
        raise ProbeFailed(f"{node}: {exc}") from None
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        why = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ProbeFailed(f"{node}: probe gave no result (exit {result.exit_status}): {why[0]}") from None
    if "error" in answer:
        raise ProbeFailed(f"{node}: {answer['error']}")
    return {**answer, "node": node}


def aggregate(per_node: Sequence[dict[str, Any]], errors: Sequence[str], *, path: str, size_mb: int, files: int,
              target_mb_s: float, started_at: str) -> dict[str, Any]:
    """Clients ran at the same time: aggregate throughput is all bytes over the slowest node's time."""
    ok = [r for r in per_node if r.get("verified")]
    record: dict[str, Any] = {
        "id": uuid.uuid4().hex[:12],
        "started_at": started_at,
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "path": path,
        "size_mb": size_mb,
        "files": files,
        "target_mb_s": target_mb_s,
        "nodes": list(per_node),
        "errors": list(errors),
    }
    if not ok:
        record.update(write_mb_s=None, read_mb_s=None, create_ops_s=None, stat_ops_s=None, remove_ops_s=None,
                      meets_target=False)
        return record
    write_s = max(r["write_s"] for r in ok)
    read_s = max(r["read_s"] for r in ok)
    write = sum(r["bytes_written"] for r in ok) / write_s / 1e6 if write_s else 0.0
    read = sum(r["bytes_read"] for r in ok) / read_s / 1e6 if read_s else 0.0
    record.update(
        write_mb_s=round(write, 1),
        read_mb_s=round(read, 1),
        create_ops_s=round(sum(r["create_ops_s"] for r in ok), 1),
        stat_ops_s=round(sum(r["stat_ops_s"] for r in ok), 1),
        remove_ops_s=round(sum(r["remove_ops_s"] for r in ok), 1),
        meets_target=bool(min(write, read) >= target_mb_s and not errors),
    )
    return record


async def run_probe(
    *,
    path: str,
    size_mb: int,
    files: int,
    target_mb_s: float,
    nodes: Sequence[str] = (),
    pool: SshPool | None = None,
    target_for: Callable[[str], SshTarget] | None = None,
    timeout: float = 600.0,
    progress: Callable[[str], None] = lambda message: None,
    history: Path | None = None,
) -> dict[str, Any]:
    """Probe `path` locally (no nodes) or on every node at once; record and return the result."""
    started = datetime.now(timezone.utc).isoformat()
    if nodes:
        if pool is None or target_for is None:
            raise ProbeFailed("probing nodes needs an SSH pool (configure cockpit.beegfs)")
        progress(f"probing {path} on {', '.join(nodes)} in parallel ({size_mb} MiB, {files} files each)")
        jobs = [probe_remote(pool, target_for(n), n, path, size_mb, files, timeout) for n in nodes]
    else:
        progress(f"probing {path} locally ({size_mb} MiB, {files} files)")
        jobs = [probe_local(path, size_mb, files)]
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    per_node, errors = [], []
    for outcome in outcomes:
        if isinstance(outcome, ProbeFailed):
            errors.append(str(outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            per_node.append(outcome)
            if not outcome.get("verified"):
                errors.append(f"{outcome['node']}: data read back differs from what was written")
    record = aggregate(per_node, errors, path=path, size_mb=size_mb, files=files, target_mb_s=target_mb_s,
                       started_at=started)
    append_history(record, history)
    return record
