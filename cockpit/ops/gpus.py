"""GPU actions: check and make assignments (redefine a stopped VM, hot-attach a running one where
the driver can), remove them, bind a device to vfio-pci and back, host readiness."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Any

from pydantic import BaseModel, Field

from backends.gpus.nodedevs import read_pci_nodedevs
from backends.libvirt.connection import test_host_file
from backends.libvirt.domains import XML_INACTIVE, parse_hostdevs, pci_address_of, read_domain_claims
from backends.libvirt.xmlgen import HostdevSpec
from cockpit.actions import ActionContext, ActionError, ActionRefused, ActionRegistry, Danger
from cockpit.ops.vms import PCI, _vms, hostdev_xml
from cockpit.placement import HOST_DRIVERS, check_assignment

VIR_ERR_NO_SUPPORT = 3
VIR_ERR_OPERATION_UNSUPPORTED = 84


class GpuAssign(BaseModel):
    vm: str = Field(min_length=1)
    pci_address: str = Field(pattern=PCI)
    host: str | None = None
    with_functions: bool = Field(default=True, description="also the companion functions in the same slot (audio .1)")
    share: bool = Field(default=False, description="allow a device already assigned to a shut-off VM")
    whole_group: bool = Field(default=False, description="assign every member of the device's IOMMU group")


class GpuRemove(BaseModel):
    vm: str = Field(min_length=1)
    pci_address: str = Field(pattern=PCI)
    host: str | None = None
    with_functions: bool = True


class DeviceRef(BaseModel):
    pci_address: str = Field(pattern=PCI)
    host: str | None = None


class HostRef(BaseModel):
    host: str | None = None


def _unsupported(exc: Any) -> bool:
    return getattr(exc, "get_error_code", lambda: None)() in (VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_UNSUPPORTED)


def _check(conn: Any, uri: str, host_name: str, p: GpuAssign) -> Any:
    devices = read_pci_nodedevs(conn, test_host_file(uri))
    return check_assignment(p.vm, p.pci_address, devices, read_domain_claims(conn), with_functions=p.with_functions,
                            share=p.share, whole_group=p.whole_group, host=host_name), {d.address: d for d in devices}


async def check_assign(ctx: ActionContext, p: GpuAssign) -> dict[str, Any]:
    """Show what assigning a GPU would do, and every conflict (changes nothing)"""
    host = _vms(ctx).host(p.host)
    check, _devices = await host.call(lambda c: _check(c, host.uri, host.name, p))
    return check.as_json()


def _redefine(conn: Any, vm: str, change: Any) -> None:
    """Edit the persistent definition of a VM and define it again (the test driver and any stopped
    VM: libvirt has no 'edit', a redefine with the same name and UUID replaces it)."""
    dom = conn.lookupByName(vm)
    root = ET.fromstring(dom.XMLDesc(XML_INACTIVE))
    change(root)
    conn.defineXML(ET.tostring(root, encoding="unicode"))


async def assign_gpu(ctx: ActionContext, p: GpuAssign) -> dict[str, Any]:
    """Assign a GPU (and its companion functions) to a VM"""
    import libvirt

    source = _vms(ctx)
    host = source.host(p.host)
    check, devices = await host.call(lambda c: _check(c, host.uri, host.name, p))
    if not check.ok:
        raise ActionError(f"cannot assign {p.pci_address} to {p.vm}: " + "; ".join(check.errors))
    specs = [HostdevSpec(address=a, rom_bar=True if devices[a].is_display else None) for a in check.addresses]

    def apply(conn: Any) -> str:
        dom = conn.lookupByName(p.vm)
        if not dom.isActive():
            def add(root: ET.Element) -> None:
                devs = root.find("devices")
                if devs is None:
                    devs = ET.SubElement(root, "devices")
                for spec in specs:
                    devs.append(ET.fromstring(hostdev_xml(spec)))
            _redefine(conn, p.vm, add)
            return "redefined (VM is shut off)"
        attached: list[str] = []
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
        try:
            for spec in specs:
                dom.attachDeviceFlags(hostdev_xml(spec), flags)
                attached.append(hostdev_xml(spec))
        except libvirt.libvirtError as exc:
            for xml in reversed(attached):  # all or nothing
                try:
                    dom.detachDeviceFlags(xml, flags)
                except libvirt.libvirtError:
                    pass
            if _unsupported(exc):
                raise ActionRefused(f"{p.vm} is running and this libvirt driver ({conn.getType()}) cannot hot-attach "
                                    f"PCI devices; shut {p.vm} down and assign again (the definition is then edited)") from None
            raise ActionError(f"hot-attach to {p.vm} failed: {str(exc).splitlines()[0]}; nothing was changed") from None
        return "attached live (and to the definition)"

    result = await host.call(apply)
    source.invalidate(host.name)
    return {"vm": p.vm, "host": host.name, "added": list(check.addresses), "result": result,
            "warnings": list(check.warnings)}


async def remove_gpu(ctx: ActionContext, p: GpuRemove) -> dict[str, Any]:
    """Take a GPU (and its companion functions) away from a VM"""
    import libvirt

    source = _vms(ctx)
    host = source.host(p.host)
    address = p.pci_address.lower()

    def apply(conn: Any) -> tuple[list[str], str]:
        try:
            dom = conn.lookupByName(p.vm)
        except libvirt.libvirtError:
            raise ActionError(f"no VM named {p.vm!r} on {host.name}") from None
        active = bool(dom.isActive())
        held = [h.address for h in parse_hostdevs(dom.XMLDesc() if active else dom.XMLDesc(XML_INACTIVE))]
        if address not in held:
            raise ActionError(f"{p.vm} does not hold {address} (it holds: {', '.join(held) or 'nothing'})")
        slot = address.rsplit(".", 1)[0]
        remove = [a for a in held if a == address or (p.with_functions and a.rsplit(".", 1)[0] == slot)]
        if not active:
            def drop(root: ET.Element) -> None:
                devs = root.find("devices")
                for hd in list(devs.iter("hostdev")) if devs is not None else []:
                    src = hd.find("source/address")
                    if hd.get("type") == "pci" and src is not None and pci_address_of(src) in remove:
                        devs.remove(hd)
            _redefine(conn, p.vm, drop)
            return remove, "redefined (VM is shut off)"
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
        for a in remove:
            try:
                dom.detachDeviceFlags(hostdev_xml(HostdevSpec(address=a)), flags)
            except libvirt.libvirtError as exc:
                if _unsupported(exc):
                    raise ActionRefused(f"{p.vm} is running and this libvirt driver ({conn.getType()}) cannot "
                                        f"hot-detach PCI devices; shut {p.vm} down first") from None
                raise ActionError(f"hot-detach of {a} from {p.vm} failed: {str(exc).splitlines()[0]}") from None
        return remove, "detached live (and from the definition)"

    removed, result = await host.call(apply)
    source.invalidate(host.name)
    return {"vm": p.vm, "host": host.name, "removed": removed, "result": result}


def _nodedev_name(address: str) -> str:
    return "pci_" + address.replace(":", "_").replace(".", "_")


async def _bind(ctx: ActionContext, p: DeviceRef, to_vfio: bool) -> dict[str, Any]:
    import libvirt

    host = _vms(ctx).host(p.host)
    if host.is_local and not host.is_test and os.geteuid() != 0:
        raise ActionRefused("binding a device to another driver needs root: run the cockpit as root for this action")
    address = p.pci_address.lower()

    def apply(conn: Any) -> str:
        devices = {d.address: d for d in read_pci_nodedevs(conn, test_host_file(host.uri))}
        dev = devices.get(address)
        if dev is None:
            raise ActionError(f"{address} is not a PCI device on {host.name}")
        if not to_vfio:
            holders = [c.vm for c in read_domain_claims(conn) if c.running and address in c.addresses]
            if holders:
                raise ActionRefused(f"{address} is passed to running VM {holders[0]}: shut it down first")
        try:
            nodedev = conn.nodeDeviceLookupByName(_nodedev_name(address))
            if to_vfio:
                nodedev.detachFlags("vfio", 0)
            else:
                nodedev.reAttach()
        except libvirt.libvirtError as exc:
            if _unsupported(exc):
                raise ActionError(f"this libvirt driver ({conn.getType()}) cannot rebind devices "
                                  f"({'virsh nodedev-detach' if to_vfio else 'virsh nodedev-reattach'} is not supported)") from None
            raise ActionError(f"rebinding {address} failed: {str(exc).splitlines()[0]}") from None
        return "bound to vfio-pci" if to_vfio else f"returned to its host driver (was {dev.driver or 'unbound'})"

    return {"pci_address": address, "host": host.name, "result": await host.call(apply)}


async def bind_vfio(ctx: ActionContext, p: DeviceRef) -> dict[str, Any]:
    """Bind a PCI device to vfio-pci (take it from the host)"""
    return await _bind(ctx, p, True)


async def unbind_vfio(ctx: ActionContext, p: DeviceRef) -> dict[str, Any]:
    """Give a PCI device back to its host driver"""
    return await _bind(ctx, p, False)


async def readiness(ctx: ActionContext, p: HostRef) -> dict[str, Any]:
    """Check this host for PCIe passthrough: IOMMU, vfio, /dev/kvm (each failure with its fix)"""
    import asyncio

    from backends.gpus.readiness import host_readiness

    root = ctx.runtime.config.cockpit.gpus.readiness_root
    checks = await asyncio.to_thread(host_readiness, root)
    return {"ready": all(c.ok for c in checks), "checks": [c.as_json() for c in checks]}


def register(registry: ActionRegistry) -> None:
    registry.action("gpu.check_assign", GpuAssign, Danger.READ, title="Check a GPU assignment")(check_assign)
    registry.action("gpu.assign", GpuAssign, Danger.CHANGE, title="Assign GPU to VM",
                    confirm=lambda p: f"Give {p.pci_address}" + (" and its companion functions" if p.with_functions else "")
                    + f" to VM {p.vm}: edit its definition if it is shut off, hot-attach if it runs and the driver can.",
                    refresh=("vms", "gpus"))(assign_gpu)
    registry.action("gpu.remove", GpuRemove, Danger.CHANGE, title="Remove GPU from VM",
                    confirm=lambda p: f"Take {p.pci_address}" + (" and its companion functions" if p.with_functions else "")
                    + f" away from VM {p.vm}.", refresh=("vms", "gpus"))(remove_gpu)
    registry.action("gpu.bind_vfio", DeviceRef, Danger.CHANGE, title="Bind device to vfio-pci",
                    confirm=lambda p: f"Unbind {p.pci_address} from its host driver and bind it to vfio-pci: host "
                    "processes using it lose it.", refresh=("gpus",))(bind_vfio)
    registry.action("gpu.unbind_vfio", DeviceRef, Danger.CHANGE, title="Return device to host driver",
                    confirm=lambda p: f"Unbind {p.pci_address} from vfio-pci and give it back to its host driver.",
                    refresh=("gpus",))(unbind_vfio)
    registry.action("gpu.readiness", HostRef, Danger.READ, title="Host passthrough readiness")(readiness)


__all__ = ["HOST_DRIVERS"]
