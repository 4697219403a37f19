"""GPUs in Slurm's GRES and TRES strings, in every spelling 22.05 .. 25.11 writes."""

from __future__ import annotations

import re
from typing import Any

GPU_GRES = re.compile(r"\bgpu(?::([A-Za-z0-9_.-]+))?:(\d+)")
_GPU_TRES = re.compile(r"gres/gpu=(\d+)")
# One GPU entry of a TRES request list: gres:gpu:2, gres/gpu:a100:2, gres/gpu=2, gres/gpu:a100=2, gpu:2.
_GPU_REQUEST = re.compile(r"(?:^|,)(?:gres[/:])?gpu(?::[^,:=]+)?[:=](\d+)")
_GPU_REQUEST_ONE = re.compile(r"(?:^|,)(?:gres[/:])?gpu(?::[A-Za-z][^,:=]*)?(?=,|$)")  # no count: one
_GRES_IDX = re.compile(r"\(IDX:([^)]*)\)")


def gpus_in_gres(value: str | None) -> int:
    """GPUs in a GRES string: 'gpu:a100:2', 'gpu:2(S:0-1)', 'gpu:a100:2(IDX:0,1),gpu:v100:1'."""
    if not value:
        return 0
    return sum(int(m.group(2)) for m in GPU_GRES.finditer(value))


def gpus_in_tres(value: str | None) -> int | None:
    if not value:
        return None
    m = _GPU_TRES.search(value)
    return int(m.group(1)) if m else None


def gpus_requested(value: str | None) -> int | None:
    """GPUs in one TRES request (tres_per_node/job/task/socket): 'gres:gpu:2', 'gres/gpu:2',
    'cpu=2,gres/gpu=1', 'gres/gpu:a100=2,gres/gpu:v100=1'; None when it names no GPU."""
    if not value:
        return None
    value = value.replace(" ", "")
    counts = [int(m.group(1)) for m in _GPU_REQUEST.finditer(value)]
    counts += [1 for _ in _GPU_REQUEST_ONE.finditer(value)]
    return sum(counts) if counts else None


def gpu_indices(gres_detail: Any, nodes: list[str]) -> dict[str, str]:
    """Node -> allocated GPU indices from squeue's gres_detail (one entry per allocated node, in
    the order of the job's node list): ['gpu:a100:2(IDX:0-1)', ...] -> {'node1': '0-1', ...}."""
    if not isinstance(gres_detail, list) or len(gres_detail) != len(nodes):
        return {}
    out = {}
    for node, entry in zip(nodes, gres_detail):
        found = [i for i in _GRES_IDX.findall(str(entry)) if i and i != "N/A"]
        if found and GPU_GRES.search(str(entry)):
            out[node] = ",".join(found)
    return out
