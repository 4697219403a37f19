"""Device, precision and timing helpers so the same program runs on a GPU VM or a CPU runner."""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any, ContextManager


class WorkloadError(Exception):
    """Bad input or environment: the message names what and where; the program exits 2."""


def pick_device(name: str = "auto") -> Any:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            local_rank = int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0")))
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise WorkloadError(f"--device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise WorkloadError(f"--device {name!r}: CUDA is not available on this machine (torch {torch.__version__})")
    return device


def resolve_precision(precision: str, device: Any) -> str:
    """auto -> bf16 on GPUs that support it (Ampere and later), else fp32."""
    import torch

    if precision == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise WorkloadError(f"--precision bf16: {torch.cuda.get_device_name(device)} has no bf16 support")
    return precision


def autocast(precision: str, device: Any) -> ContextManager[Any]:
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def setup_backend(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.set_device(device)
        # TF32 matmuls for the fp32 parts (optimizer, norms): free speed on Ampere+.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device_description(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


def maybe_compile(model: Any, enabled: bool) -> Any:
    import torch

    return torch.compile(model) if enabled else model
