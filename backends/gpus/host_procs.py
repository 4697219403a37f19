"""What a host process using a GPU is: its command name and cgroup, read from /proc.

NVML lists the pids using each GPU on the host; the cgroup says which work they belong to (a
SLURM job, a pod, a container: cockpit/cgroup_owner.py). A pid that is gone, or that this
process cannot see (another PID namespace), is left undescribed, never guessed.
"""

from __future__ import annotations

from pathlib import Path

from cockpit.cgroup_owner import cgroup_path, owner_of

# Command names are short (TASK_COMM_LEN is 16); cgroup files can be long on deep hierarchies.
_MAX_CGROUP_BYTES = 64 * 1024


def describe_process(pid: int, proc_root: str | Path = "/proc") -> dict[str, str | None]:
    """`command`, `cgroup` and the owner's `owner_kind`, `owner_id`, `owner_detail` of `pid`."""
    base = Path(proc_root) / str(pid)
    out: dict[str, str | None] = {"command": None, "cgroup": None,
                                  "owner_kind": None, "owner_id": None, "owner_detail": None}
    if pid <= 0:
        return out
    try:
        out["command"] = (base / "comm").read_text(errors="replace").strip() or None
        with open(base / "cgroup", "rb") as fh:
            text = fh.read(_MAX_CGROUP_BYTES).decode(errors="replace")
    except OSError:
        return out
    path = cgroup_path(text)
    out["cgroup"] = path
    owner = owner_of(path)
    if owner is not None:
        out.update(owner_kind=owner.kind, owner_id=owner.id, owner_detail=owner.detail)
    return out
