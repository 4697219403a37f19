"""Who am I in a data-parallel job: torchrun env vars first, then an srun step's SLURM vars.

torchrun exports RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT. `srun python -m ...` (one
task per GPU) exports SLURM_PROCID/SLURM_STEP_NUM_TASKS/SLURM_LOCALID and the node list; the
rendezvous host is the step's first node. A plain sbatch batch script (no srun step) is treated
as a single process so it never waits for ranks that will not come.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from workloads.common.device import WorkloadError

DEFAULT_PORT = 29500


@dataclass(frozen=True)
class DistEnv:
    launcher: str  # torchrun | slurm | single
    rank: int
    world_size: int
    local_rank: int
    master_addr: str
    master_port: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def expand_nodelist(nodelist: str) -> list[str]:
    """Expand SLURM's compressed host lists: 'gpu[01-03,07],login1' -> gpu01 gpu02 gpu03 gpu07 login1."""
    hosts: list[str] = []
    for prefix, ranges, plain in re.findall(r"([^,\[]+)\[([^\]]+)\]|([^,\[\]]+)", nodelist):
        if plain:
            hosts.append(plain.strip())
            continue
        for part in ranges.split(","):
            if "-" in part:
                lo, hi = part.split("-", 1)
                width = len(lo)
                hosts.extend(f"{prefix}{i:0{width}d}" for i in range(int(lo), int(hi) + 1))
            else:
                hosts.append(f"{prefix}{part}")
    return hosts


def _int(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise WorkloadError(f"environment variable {name}={env[name]!r} is not an integer") from None


def _port(env: Mapping[str, str]) -> int:
    if env.get("MASTER_PORT"):
        return _int(env, "MASTER_PORT")
    job = env.get("SLURM_JOB_ID", "")
    # Different jobs sharing a node must not collide on one port.
    return DEFAULT_PORT + (int(job) % 10000 if job.isdigit() else 0)


def detect(env: Mapping[str, str]) -> DistEnv:
    if "RANK" in env and "WORLD_SIZE" in env:
        rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
        local = _int(env, "LOCAL_RANK") if "LOCAL_RANK" in env else 0
        addr = env.get("MASTER_ADDR", "127.0.0.1")
        launcher = "torchrun"
    elif "SLURM_PROCID" in env and ("SLURM_STEP_ID" in env or "SLURM_STEPID" in env):
        rank = _int(env, "SLURM_PROCID")
        world = _int(env, "SLURM_STEP_NUM_TASKS") if "SLURM_STEP_NUM_TASKS" in env else _int(env, "SLURM_NTASKS")
        local = _int(env, "SLURM_LOCALID") if "SLURM_LOCALID" in env else 0
        nodes = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or ""
        hosts = expand_nodelist(nodes) if nodes else []
        addr = env.get("MASTER_ADDR") or (hosts[0] if hosts else "127.0.0.1")
        launcher = "slurm"
    else:
        return DistEnv("single", 0, 1, 0, "127.0.0.1", _port(env))
    if world < 1 or not 0 <= rank < world:
        raise WorkloadError(f"rank {rank} is outside world size {world} ({launcher} environment)")
    return DistEnv(launcher, rank, world, local, addr, _port(env))
