"""Host NVML readings keyed by PCI address. A host without NVML is a normal state.

Runs in a worker thread. Slow-changing fields (name, UUID, total memory) are read once.
"""

from __future__ import annotations

import threading
from typing import Any

from backends.gpus.models import NvmlReading


def normalize_bus_id(bus_id: str | bytes) -> str:
    """NVML's '00000000:3B:00.0' -> '0000:3b:00.0'."""
    text = bus_id.decode() if isinstance(bus_id, bytes) else bus_id
    domain, rest = text.lower().split(":", 1)
    return f"{int(domain, 16):04x}:{rest}"


class NvmlReader:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._module: Any = None
        self.unavailable: str | None = None  # why NVML is not there (shown, not raised)
        self._static: dict[int, dict[str, Any]] = {}

    def _init(self) -> Any:
        if self._module is not None or self.unavailable is not None:
            return self._module
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound on hosts without a driver
            self.unavailable = str(exc) or type(exc).__name__
            return None
        self._module = pynvml
        return pynvml

    def read(self) -> dict[str, NvmlReading]:
        with self._lock:
            nv = self._init()
            if nv is None:
                return {}
            out: dict[str, NvmlReading] = {}
            for index in range(nv.nvmlDeviceGetCount()):
                handle = nv.nvmlDeviceGetHandleByIndex(index)
                static = self._static.get(index)
                if static is None:
                    pci = nv.nvmlDeviceGetPciInfo(handle) if hasattr(nv, "nvmlDeviceGetPciInfo") else None
                    bus = getattr(pci, "busId", None) if pci is not None else None
                    static = self._static[index] = {"bus": normalize_bus_id(bus) if bus else f"nvml:{index}"}
                out[static["bus"]] = self._reading(nv, handle)
            return out

    @staticmethod
    def _reading(nv: Any, handle: Any) -> NvmlReading:
        def safe(fn: Any, *args: Any) -> Any:
            try:
                return fn(handle, *args)
            except Exception:  # NotSupported on some boards: leave the field empty
                return None

        mem = safe(nv.nvmlDeviceGetMemoryInfo)
        util = safe(nv.nvmlDeviceGetUtilizationRates)
        power = safe(nv.nvmlDeviceGetPowerUsage)
        return NvmlReading(
            utilization_pct=getattr(util, "gpu", None),
            memory_used_mib=mem.used // (1 << 20) if mem is not None else None,
            memory_total_mib=mem.total // (1 << 20) if mem is not None else None,
            temperature_c=safe(nv.nvmlDeviceGetTemperature, getattr(nv, "NVML_TEMPERATURE_GPU", 0)),
            power_w=round(power / 1000.0, 1) if power is not None else None,
        )
