"""Record what NVML answers on this host, in the shape tests/backends/gpus/fake_pynvml.py replays
(the nvml_h100.json recording's shape), plus each GPU process's /proc comm and cgroup.

    python3 scripts/device/record_nvml.py > nvml.json      # needs nvidia-ml-py (pynvml) only

Every NVML call is answered or its error is recorded as text: a field a board does not support
stays visible as such, never invented.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def safe(fn, *args):
    try:
        value = fn(*args)
    except Exception as exc:  # NVMLError_NotSupported and friends: recorded as text
        return f"NVMLError: {exc} ({type(exc).__name__})"
    return value.decode() if isinstance(value, bytes) else value


def proc_info(pid: int) -> dict:
    base = Path("/proc") / str(pid)
    out: dict = {"pid": pid}
    for name in ("comm", "cgroup"):
        try:
            out[name] = (base / name).read_text()
        except OSError as exc:
            out[name] = f"unreadable: {exc.strerror}"
    return out


def main() -> int:
    import pynvml as nv

    t0 = time.perf_counter()
    nv.nvmlInit()
    snap: dict = {"init_s": round(time.perf_counter() - t0, 4),
                  "driver": safe(nv.nvmlSystemGetDriverVersion), "nvml": safe(nv.nvmlSystemGetNVMLVersion),
                  "cuda": safe(nv.nvmlSystemGetCudaDriverVersion), "count": nv.nvmlDeviceGetCount(), "devices": []}
    for index in range(snap["count"]):
        h = nv.nvmlDeviceGetHandleByIndex(index)
        pci = nv.nvmlDeviceGetPciInfo(h)
        mem = nv.nvmlDeviceGetMemoryInfo(h)
        util = safe(nv.nvmlDeviceGetUtilizationRates, h)
        procs = safe(nv.nvmlDeviceGetComputeRunningProcesses, h)
        snap["devices"].append({
            "name": safe(nv.nvmlDeviceGetName, h), "uuid": safe(nv.nvmlDeviceGetUUID, h),
            "serial": safe(nv.nvmlDeviceGetSerial, h),
            "pci": {"busIdLegacy": safe(lambda p: p.busIdLegacy.decode() if isinstance(p.busIdLegacy, bytes) else p.busIdLegacy, pci),
                    "domain": pci.domain, "bus": pci.bus, "device": pci.device, "pciDeviceId": pci.pciDeviceId,
                    "pciSubSystemId": pci.pciSubSystemId,
                    "busId": pci.busId.decode() if isinstance(pci.busId, bytes) else pci.busId},
            "memory": {"total": mem.total, "free": mem.free, "used": mem.used},
            "util": {"gpu": util.gpu, "memory": util.memory} if not isinstance(util, str) else util,
            "temp_c": safe(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU),
            "power_mw": safe(nv.nvmlDeviceGetPowerUsage, h),
            "power_limit_mw": safe(nv.nvmlDeviceGetEnforcedPowerLimit, h),
            "mig_mode": safe(nv.nvmlDeviceGetMigMode, h),
            "procs": ([{"pid": p.pid, "usedGpuMemory": p.usedGpuMemory} for p in procs]
                      if not isinstance(procs, str) else procs),
            "proc_info": [proc_info(p.pid) for p in procs] if not isinstance(procs, str) else [],
            "ecc": safe(nv.nvmlDeviceGetEccMode, h),
            "sm_mhz": safe(nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_SM),
            "persistence": safe(nv.nvmlDeviceGetPersistenceMode, h),
            "fan": safe(nv.nvmlDeviceGetFanSpeed, h),
            "minor": safe(nv.nvmlDeviceGetMinorNumber, h),
        })
    t1 = time.perf_counter()
    for _ in range(100):
        for index in range(snap["count"]):
            h = nv.nvmlDeviceGetHandleByIndex(index)
            nv.nvmlDeviceGetUtilizationRates(h)
            nv.nvmlDeviceGetMemoryInfo(h)
    snap["poll100_s"] = round(time.perf_counter() - t1, 4)
    nv.nvmlShutdown()
    json.dump(snap, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
