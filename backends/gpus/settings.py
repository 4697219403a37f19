"""The `cockpit.gpus` settings of the gpus source (validated with the rest of the config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cockpit.source_types import Settings


class GpuSettings(Settings):
    nvml: Literal["auto", "off"] = "auto"
    sysfs_root: str = "/sys"
    # Read telemetry of passed-through GPUs from inside the guest (nvidia-smi over SSH).
    guest_telemetry: bool = True
    guest_ssh_user: str | None = None
    # Which libvirt host the sysfs tree and NVML describe (default: the local qemu:/// host;
    # a test-driver host only when named here).
    sysfs_host: str | None = None
    readiness_root: str = "/"
    # Allocated-but-idle (GPU map, `gpu_use` in the snapshot JSON): an allocated GPU under this
    # utilisation for this long. Current snapshots carry no history: the flag reads the current value.
    idle_below_pct: float = Field(default=5.0, ge=0, le=100)
    idle_for_min: float = Field(default=10.0, gt=0)
