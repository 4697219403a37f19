"""Host NVML readings keyed by PCI address. A host without NVML is a normal state.

Runs in a worker thread. Slow-changing fields (name, UUID, bus id, total memory) are read once
per device; utilization, memory used, temperature, power and processes every tick.
"""

from __future__ import annotations

import threading
from typing import Any

from backends.gpus.host_procs import describe_process
from backends.gpus.models import GpuProcess, NvmlReading


def normalize_bus_id(bus_id: str | bytes) -> str:
    """NVML's '00000000:3B:00.0' -> '0000:3b:00.0'."""
    text = bus_id.decode() if isinstance(bus_id, bytes) else bus_id
    domain, rest = text.strip().lower().split(":", 1)
    return f"{int(domain, 16):04x}:{rest}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlReader:
    def __init__(self, module: Any = None, proc_root: str = "/proc") -> None:
        self._lock = threading.Lock()
        self.proc_root = proc_root  # where the pids NVML names are looked up (tests: a fake /proc)
        self._module: Any = None
        self._given = module  # tests hand in a fake; otherwise `import pynvml`
        self.unavailable: str | None = None  # why NVML is not there (shown, not raised)
        self._static: dict[int, dict[str, Any]] = {}
        self.static_reads = 0

    def _init(self) -> Any:
        if self._module is not None or self.unavailable is not None:
            return self._module
        try:
            if self._given is not None:
                nv = self._given
            else:
                import pynvml as nv  # nvidia-ml-py
            nv.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound on hosts without a driver
            self.unavailable = str(exc) or type(exc).__name__
            return None
        self._module = nv
        return nv

    def read(self) -> dict[str, NvmlReading]:
        with self._lock:
            nv = self._init()
            if nv is None:
                return {}
            try:
                count = nv.nvmlDeviceGetCount()
            except Exception as exc:  # driver unloaded under us: report, retry later
                self._module = None
                self.unavailable = None
                raise RuntimeError(f"NVML: {exc}") from exc
            out: dict[str, NvmlReading] = {}
            for index in range(count):
                handle = nv.nvmlDeviceGetHandleByIndex(index)
                static = self._static.get(index)
                if static is None:
                    static = self._static[index] = self._static_fields(nv, handle, index)
                out[static["bus"]] = self._reading(nv, handle, static, self.proc_root)
            return out

    def _static_fields(self, nv: Any, handle: Any, index: int) -> dict[str, Any]:
        self.static_reads += 1

        def safe(fn_name: str) -> Any:
            fn = getattr(nv, fn_name, None)
            try:
                return fn(handle) if fn is not None else None
            except Exception:
                return None

        pci = safe("nvmlDeviceGetPciInfo")
        bus = _text(getattr(pci, "busId", None)) if pci is not None else None
        return {"bus": normalize_bus_id(bus) if bus else f"nvml:{index}",
                "name": _text(safe("nvmlDeviceGetName")), "uuid": _text(safe("nvmlDeviceGetUUID"))}

    @staticmethod
    def _reading(nv: Any, handle: Any, static: dict[str, Any], proc_root: str = "/proc") -> NvmlReading:
        def safe(fn: Any, *args: Any) -> Any:
            try:
                return fn(handle, *args)
            except Exception:  # NotSupported on some boards: leave the field empty
                return None

        mem = safe(nv.nvmlDeviceGetMemoryInfo)
        util = safe(nv.nvmlDeviceGetUtilizationRates)
        power = safe(nv.nvmlDeviceGetPowerUsage)
        procs = safe(nv.nvmlDeviceGetComputeRunningProcesses) if hasattr(nv, "nvmlDeviceGetComputeRunningProcesses") else None
        processes = tuple(
            GpuProcess(pid=int(getattr(p, "pid", 0)),
                       used_memory_mib=(int(p.usedGpuMemory) // (1 << 20)) if getattr(p, "usedGpuMemory", None) else None,
                       **describe_process(int(getattr(p, "pid", 0)), proc_root))
            for p in (procs or [])
        )
        return NvmlReading(
            utilization_pct=getattr(util, "gpu", None),
            memory_used_mib=mem.used // (1 << 20) if mem is not None else None,
            memory_total_mib=mem.total // (1 << 20) if mem is not None else None,
            temperature_c=safe(nv.nvmlDeviceGetTemperature, getattr(nv, "NVML_TEMPERATURE_GPU", 0)),
            power_w=round(power / 1000.0, 1) if power is not None else None,
            name=static.get("name"),
            uuid=static.get("uuid"),
            processes=processes,
        )
