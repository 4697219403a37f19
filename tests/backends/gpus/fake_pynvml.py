"""An in-process stand-in for `pynvml` (nvidia-ml-py) built from readings recorded on a real H100
(tests/fixtures/nvml-h100/nvml_h100.json). There is no official Python NVML mock;
this one answers the calls the cockpit makes with the recorded values and the real error types
(NVMLError_LibraryNotFound = 12 when no driver is installed, NotSupported = 3)."""

from __future__ import annotations

import copy
import json
import types
from collections import namedtuple
from pathlib import Path


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {12: "NVML Shared Library Not Found", 1: "Uninitialized", 3: "Not Supported",
                2: "Invalid Argument"}.get(self.value, f"NVML error {self.value}")


Memory = namedtuple("c_nvmlMemory_t", "total free used")
Utilization = namedtuple("c_nvmlUtilization_t", "gpu memory")
PciInfo = namedtuple("nvmlPciInfo_t", "busId busIdLegacy domain bus device pciDeviceId pciSubSystemId")
Process = namedtuple("c_nvmlProcessInfo_t", "pid usedGpuMemory")


class FakeNVML:
    def __init__(self, snapshot: dict, library_present: bool = True) -> None:
        self.snap = snapshot
        self.present = library_present
        self.inited = False
        self.calls: dict[str, int] = {}

    @classmethod
    def from_json(cls, path: Path, bus_ids: list[str] | None = None, **kw) -> "FakeNVML":
        """One recorded device per bus id (copies get their own UUID and bus id)."""
        snap = json.loads(Path(path).read_text())
        devices = []
        for i, bus in enumerate(bus_ids or [snap["devices"][0]["pci"]["busId"]]):
            d = copy.deepcopy(snap["devices"][0])
            d["uuid"] = d["uuid"][:-2] + f"{i:02x}"
            d["pci"]["busId"] = bus
            devices.append(d)
        snap["devices"] = devices
        snap["count"] = len(devices)
        return cls(snap, **kw)

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def module(self) -> types.ModuleType:
        m = types.ModuleType("pynvml")
        f = self
        m.NVMLError = NVMLError
        m.NVML_TEMPERATURE_GPU = 0

        def need() -> None:
            if not f.inited:
                raise NVMLError(1)

        def dev(h: int) -> dict:
            need()
            return f.snap["devices"][h]

        def init() -> None:
            if not f.present:
                raise NVMLError(12)
            f.inited = True

        def handle(i: int) -> int:
            need()
            if i >= f.snap["count"]:
                raise NVMLError(2)
            return i

        def traced(name, fn):
            def call(*a):
                f._count(name)
                return fn(*a)
            return call

        m.nvmlInit = init
        m.nvmlShutdown = lambda: setattr(f, "inited", False)
        m.nvmlDeviceGetCount = lambda: (need(), f.snap["count"])[1]
        m.nvmlDeviceGetHandleByIndex = handle
        m.nvmlDeviceGetName = traced("name", lambda h: dev(h)["name"])
        m.nvmlDeviceGetUUID = traced("uuid", lambda h: dev(h)["uuid"])
        m.nvmlDeviceGetPciInfo = traced("pci", lambda h: PciInfo(**dev(h)["pci"]))
        m.nvmlDeviceGetMemoryInfo = lambda h: Memory(**dev(h)["memory"])
        m.nvmlDeviceGetUtilizationRates = lambda h: Utilization(**dev(h)["util"])
        m.nvmlDeviceGetTemperature = lambda h, sensor: dev(h)["temp_c"]
        m.nvmlDeviceGetPowerUsage = lambda h: dev(h)["power_mw"]
        m.nvmlDeviceGetComputeRunningProcesses = lambda h: [Process(**p) for p in dev(h)["procs"]]

        def fan(h: int) -> int:
            raise NVMLError(3)  # recorded: 'NVMLError: Not Supported' on the H100

        m.nvmlDeviceGetFanSpeed = fan
        return m
