"""VM and GPU actions on the libvirt test driver, through the audited action layer."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import pytest

from cockpit.actions import ActionRefused

from cockpit.config import parse_config
from cockpit.runtime import build_runtime
from tests.backends.libvirt.conftest import clean_lab_uri, lab_uri  # noqa: F401


def runtime_for(uri: str, tmp_path, extra: str = ""):
    loaded = parse_config(f"cockpit:\n  gpus:\n    guest_telemetry: false\n  libvirt:\n    hosts:\n"
                          f"      - name: lab\n        uri: '{uri}'\n    pool_path: '{tmp_path}/pool'\n{extra}", "test")
    return build_runtime(loaded, sources=("vms", "gpus"), audit_path=tmp_path / "audit.jsonl")


async def domains(rt) -> dict[str, tuple[bool, tuple[str, ...]]]:
    from backends.libvirt.domains import read_domain_claims

    claims = await rt.adapter("vms").host("lab").call(read_domain_claims)
    return {c.vm: (c.running, c.addresses) for c in claims}


async def test_start_refused_with_holder_name(lab_uri, tmp_path) -> None:
    rt = runtime_for(lab_uri, tmp_path)
    # split-vm wants 0000:42:00.0; nobody runs with it, so it starts
    assert (await rt.invoke("vm.start", {"name": "split-vm"})).ok
    await rt.invoke("vm.force_off", {"name": "train-b"})
    before = await domains(rt)
    # a shut-off VM naming the GPU train-a runs with: refused, and says who holds it
    with pytest.raises(ActionRefused, match="0000:01:00.0 is held by running VM train-a"):
        await rt.invoke("vm.start", {"name": "train-b"})
    assert await domains(rt) == before
    audit = (tmp_path / "audit.jsonl").read_text()
    assert '"action": "vm.start"' in audit and "held by running VM train-a" in audit


async def test_define_bad_input_creates_nothing(clean_lab_uri, tmp_path) -> None:
    rt = runtime_for(clean_lab_uri, tmp_path)
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "10G"], check=True)
    await rt.invoke("vm.define", {"name": "holder", "gpus": ["0000:07:00.0"]})
    before = await domains(rt)
    cases = {
        "unknown PCI": ({"name": "x", "gpus": ["0000:ee:00.0"]}, "0000:ee:00.0 is not a PCI device on lab"),
        "GPU twice": ({"name": "x", "gpus": ["0000:07:00.0"]}, "0000:07:00.0 is already assigned to holder"),
        "listed twice": ({"name": "x", "gpus": ["0000:01:00.0", "0000:01:00.1"]}, "0000:01:00.1 is listed twice"),
        "missing base image": ({"name": "x", "base_image": str(tmp_path / "nope.qcow2")}, "does not exist"),
        "too little disk": ({"name": "x", "base_image": str(base), "disk_gb": 5}, "5 GiB is too little disk"),
        "IOMMU group": ({"name": "x", "gpus": ["0000:42:00.0"]}, "IOMMU group 30 also holds 0000:41:00.0"),
    }
    for label, (params, message) in cases.items():
        result = await rt.invoke("vm.define", params)
        assert not result.ok and message in result.error, (label, result.error)
    assert await domains(rt) == before
    assert not (tmp_path / "pool").exists() or not any((tmp_path / "pool").iterdir())


async def test_define_with_overlay_and_gpu_then_undefine(clean_lab_uri, tmp_path) -> None:
    rt = runtime_for(clean_lab_uri, tmp_path)
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "4G"], check=True)
    result = await rt.invoke("vm.define", {"name": "node", "vcpus": 4, "memory_mib": 4096, "gpus": ["0000:01:00.0"],
                                           "base_image": str(base), "disk_gb": 8, "network": "default", "start": True})
    assert result.ok, result.error
    assert result.outputs["gpus"] == ["0000:01:00.0", "0000:01:00.1"]
    desc = (await rt.invoke("vm.describe", {"name": "node"})).result
    assert [h["address"] for h in desc["hostdevs"]] == ["0000:01:00.0", "0000:01:00.1"]
    assert desc["hostdevs"][0]["rom_bar"] is True and desc["hostdevs"][1]["rom_bar"] is None
    assert desc["disks"] == [str(tmp_path / "pool" / "node.qcow2")]
    with pytest.raises(ActionRefused, match="is running"):
        await rt.invoke("vm.undefine", {"name": "node"})
    await rt.invoke("vm.force_off", {"name": "node"})
    done = await rt.invoke("vm.undefine", {"name": "node", "remove_disks": True})
    assert done.ok and done.outputs["disks_removed"] == [str(tmp_path / "pool" / "node.qcow2")]
    assert "node" not in await domains(rt)


async def test_assign_stopped_redefines_running_is_refused_on_test_driver(clean_lab_uri, tmp_path) -> None:
    rt = runtime_for(clean_lab_uri, tmp_path)
    await rt.invoke("vm.define", {"name": "node"})
    check = await rt.invoke("gpu.check_assign", {"vm": "node", "pci_address": "0000:07:00.0"})
    assert check.ok and check.result["ok"] and check.result["addresses"] == ["0000:07:00.0", "0000:07:00.1"]
    # stopped VM: the definition is edited (redefine)
    result = await rt.invoke("gpu.assign", {"vm": "node", "pci_address": "0000:07:00.0"})
    assert result.ok and "redefined" in result.outputs["result"]
    assert (await domains(rt))["node"] == (False, ("0000:07:00.0", "0000:07:00.1"))
    # running VM: the test driver cannot hot-attach; refused, nothing changed
    assert (await rt.invoke("vm.start", {"name": "node"})).ok
    with pytest.raises(ActionRefused, match="cannot hot-attach PCI devices; shut node down"):
        await rt.invoke("gpu.assign", {"vm": "node", "pci_address": "0000:01:00.0"})
    assert (await domains(rt))["node"] == (True, ("0000:07:00.0", "0000:07:00.1"))
    with pytest.raises(ActionRefused, match="cannot hot-detach"):
        await rt.invoke("gpu.remove", {"vm": "node", "pci_address": "0000:07:00.0"})
    await rt.invoke("vm.force_off", {"name": "node"})
    removed = await rt.invoke("gpu.remove", {"vm": "node", "pci_address": "0000:07:00.0"})
    assert removed.ok and removed.outputs["removed"] == ["0000:07:00.0", "0000:07:00.1"]
    assert (await domains(rt))["node"] == (False, ())
    # the vms source sees the change on its next tick (the action invalidated its cache)
    snap = await rt.hub.collectors["vms"].fetch_once()
    assert next(i for i in snap.items.values() if i.name == "node").gpus == ()


class FakeDom:
    """Stands in for a driver that can hot-attach (only QEMU with a real GPU can): records
    attach/detach so the all-or-nothing rollback of a multi-function attach can be checked."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.attached: list[str] = []
        self.fail_on = fail_on

    def isActive(self) -> bool:
        return True

    def attachDeviceFlags(self, xml: str, flags: int) -> None:
        import libvirt

        address = ET.fromstring(xml).find("source/address").get("function")
        if self.fail_on == address:
            raise libvirt.libvirtError("internal error: device busy")
        self.attached.append(xml)

    def detachDeviceFlags(self, xml: str, flags: int) -> None:
        self.attached.remove(xml)


@pytest.mark.parametrize("fail_on, ok", [(None, True), ("0x1", False)])
async def test_live_attach_path_is_all_or_nothing(clean_lab_uri, tmp_path, monkeypatch, fail_on, ok) -> None:
    rt = runtime_for(clean_lab_uri, tmp_path)
    await rt.invoke("vm.define", {"name": "node", "start": True})
    fake = FakeDom(fail_on)
    host = rt.adapter("vms").host("lab")
    real_run = host.run

    class ConnProxy:
        def __init__(self, conn):
            self._conn = conn

        def lookupByName(self, name):
            return fake if name == "node" else self._conn.lookupByName(name)

        def __getattr__(self, item):
            return getattr(self._conn, item)

    monkeypatch.setattr(host, "run", lambda fn: real_run(lambda c: fn(ConnProxy(c))))
    result = await rt.invoke("gpu.assign", {"vm": "node", "pci_address": "0000:01:00.0"})
    assert result.ok is ok
    if ok:
        assert "attached live" in result.outputs["result"] and len(fake.attached) == 2
    else:
        assert "nothing was changed" in result.error and fake.attached == []


async def test_bind_vfio_on_test_driver_says_why_not(lab_uri, tmp_path) -> None:
    rt = runtime_for(lab_uri, tmp_path)
    result = await rt.invoke("gpu.bind_vfio", {"pci_address": "0000:81:00.0"})
    assert not result.ok and "cannot rebind devices" in result.error
    with pytest.raises(ActionRefused, match="passed to running VM train-a"):
        await rt.invoke("gpu.unbind_vfio", {"pci_address": "0000:01:00.0"})
    result = await rt.invoke("gpu.bind_vfio", {"pci_address": "0000:ee:00.0"})
    assert not result.ok and "not a PCI device" in result.error
