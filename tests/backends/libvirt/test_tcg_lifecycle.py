"""A real libvirtd + QEMU (TCG) VM, driven through the cockpit's action layer: define it, start
it, see libvirt's 'started' event, see the guest boot, shut it down by ACPI, see 'stopped',
remove it. Also the live hot-attach path on a driver that supports attachDevice."""

from __future__ import annotations

import asyncio
import time

import pytest

from cockpit.config import parse_config
from cockpit.runtime import build_runtime

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]


async def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_define_start_event_shutdown_remove(qemu_host, tmp_path) -> None:
    uri, kernel, initrd, work = qemu_host
    loaded = parse_config(f"cockpit:\n  libvirt:\n    hosts:\n      - name: lab\n        uri: '{uri}'\n"
                          f"    domain_type: qemu\n", "test")
    runtime = build_runtime(loaded, sources=("vms", "gpus"), audit_path=tmp_path / "audit.jsonl")
    source = runtime.adapter("vms")
    events = []
    source.listen(events.append)
    close_events = await source.start_events()
    serial = work / "tiny-serial.log"
    name = f"cockpit-tiny-{int(time.time())}"
    try:
        result = await runtime.invoke("vm.define", {
            "name": name, "vcpus": 1, "memory_mib": 256, "kernel": str(kernel), "initrd": str(initrd),
            "cmdline": "console=ttyS0 panic=-1 quiet", "serial_log": str(serial), "domain_type": "qemu"})
        assert result.ok, result.error
        await _wait(lambda: any(e.vm == name and e.event == "defined" for e in events), 10, "defined event")

        result = await runtime.invoke("vm.start", {"name": name})
        assert result.ok, result.error
        await _wait(lambda: any(e.vm == name and e.event == "started" for e in events), 15, "started event")
        await _wait(lambda: serial.exists() and "COCKPIT TINYVM BOOTED" in serial.read_text(errors="replace"),
                    90, "guest boot marker on the serial console")

        snap = await runtime.hub.collectors["vms"].fetch_once()
        vm = next(i for i in snap.items.values() if i.name == name)
        assert vm.state == "running" and vm.vcpus == 1 and vm.memory_mib == 256

        # The live path: QEMU supports attachDevice, so the cockpit tries it; a device that does not
        # exist on this host is refused before anything changes.
        check = await runtime.invoke("gpu.assign", {"vm": name, "pci_address": "0000:ee:1f.7"})
        assert not check.ok and "not a PCI device" in check.error

        # A power button pressed before the guest's ACPI driver is up is lost (as on real hardware).
        await _wait(lambda: "COCKPIT TINYVM READY" in serial.read_text(errors="replace"), 60, "guest ACPI ready")
        result = await runtime.invoke("vm.shutdown", {"name": name, "wait_s": 60})
        assert result.ok, result.error
        assert "COCKPIT TINYVM POWER BUTTON" in serial.read_text(errors="replace")
        await _wait(lambda: any(e.vm == name and e.event == "stopped" for e in events), 10, "stopped event")

        result = await runtime.invoke("vm.undefine", {"name": name})
        assert result.ok, result.error
        await _wait(lambda: any(e.vm == name and e.event == "undefined" for e in events), 10, "undefined event")
        snap = await runtime.hub.collectors["vms"].fetch_once()
        assert name not in {i.name for i in snap.items.values()}
    finally:
        await close_events()
        host = source.host("lab")

        def cleanup(conn):
            import libvirt
            try:
                dom = conn.lookupByName(name)
            except libvirt.libvirtError:
                return
            if dom.isActive():
                dom.destroy()
            dom.undefine()

        await host.call(cleanup)
        await runtime.close()
