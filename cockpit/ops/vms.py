"""VM lifecycle actions on libvirt: define, start, shut down, force off, undefine, describe.

Every check that can fail runs before anything is created; a multi-step define (overlay, domain,
start) rolls back what it created when a later step fails.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, Field

from backends.gpus.nodedevs import read_pci_nodedevs
from backends.libvirt.connection import LibvirtHostConnection, test_host_file
from backends.libvirt.domains import XML_INACTIVE, domain_ips, parse_facts, parse_hostdevs, read_domain_claims
from backends.libvirt.images import image_facts
from backends.libvirt.provision import (Journal, create_overlay, define_domain, delete_volume,
                                        domain_type_for, ensure_pool, undefine_domain)
from backends.libvirt.xmlgen import DiskSpec, DomainSpec, HostdevSpec, InterfaceSpec, render_domain
from cockpit.actions import ActionContext, ActionError, ActionRefused, ActionRegistry, Danger
from cockpit.placement import DomainClaim, check_assignment, start_problems

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
PCI = r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$"


class VmRef(BaseModel):
    name: str = Field(min_length=1, description="VM (libvirt domain) name")
    host: str | None = Field(default=None, description="libvirt host name from the config; omit with one host")


class VmShutdown(VmRef):
    wait_s: float = Field(default=0, ge=0, le=600, description="wait this long for the guest to stop (0: don't wait)")


class VmUndefine(VmRef):
    remove_disks: bool = Field(default=False, description="also delete the VM's disk volumes (overlays)")


class VmDefine(BaseModel):
    name: str = Field(pattern=NAME, description="new VM name")
    host: str | None = None
    vcpus: int = Field(default=2, ge=1, le=1024)
    memory_mib: int = Field(default=2048, ge=64)
    gpus: list[str] = Field(default_factory=list, description="PCI addresses; companion functions come along")
    share_gpus: bool = Field(default=False, description="allow GPUs already assigned to a shut-off VM")
    base_image: str | None = Field(default=None, description="base image: the VM gets a qcow2 overlay on it")
    disk_gb: int | None = Field(default=None, ge=1, description="overlay size (default: the base image's size)")
    disk_path: str | None = Field(default=None, description="an existing disk used as is")
    network: str | None = Field(default=None, description="libvirt network to join")
    kernel: str | None = Field(default=None, description="direct kernel boot (tiny VMs, tests)")
    initrd: str | None = None
    cmdline: str | None = None
    serial_log: str | None = Field(default=None, description="file receiving the serial console")
    domain_type: Literal["auto", "kvm", "qemu", "test"] = "auto"
    start: bool = False


def _vms(ctx: ActionContext) -> Any:
    source = ctx.adapter("vms")
    if not hasattr(source, "find_domain"):
        raise ActionError("libvirt is not configured: set cockpit.libvirt.hosts (or LIBVIRT_DEFAULT_URI) to a URI "
                          "such as qemu:///system")
    return source


def _hostdev_specs(addresses: list[str], devices: dict[str, Any]) -> tuple[HostdevSpec, ...]:
    """ROM BAR on for display functions (GPUs), default for their companions."""
    out = []
    for a in addresses:
        dev = devices.get(a)
        out.append(HostdevSpec(address=a, rom_bar=True if dev is not None and dev.is_display else None))
    return tuple(out)


def hostdev_xml(spec: HostdevSpec) -> str:
    rom = "" if spec.rom_bar is None else f"<rom bar='{'on' if spec.rom_bar else 'off'}'/>"
    return (f"<hostdev mode='subsystem' type='pci' managed='{'yes' if spec.managed else 'no'}'><source>"
            f"<address domain='0x{spec.domain}' bus='0x{spec.bus}' slot='0x{spec.slot}' function='0x{spec.function}'/>"
            f"</source>{rom}</hostdev>")


async def start_vm(ctx: ActionContext, p: VmRef) -> dict[str, Any]:
    """Start a VM"""
    libvirt_source = _vms(ctx)
    host, name = await libvirt_source.find_domain(p.name, p.host)

    def check(conn: Any) -> list[str]:
        wanted = [h.address for h in parse_hostdevs(conn.lookupByName(name).XMLDesc(XML_INACTIVE))]
        devices = read_pci_nodedevs(conn, test_host_file(host.uri))
        return start_problems(name, wanted, read_domain_claims(conn), devices)

    held = await host.call(check)
    if held:
        raise ActionRefused(f"refusing to start {name}: " + "; ".join(held) + " (shut that VM down first)")

    def start(conn: Any) -> str:
        dom = conn.lookupByName(name)
        if dom.isActive():
            return "already running"
        dom.create()
        return "started"

    result = await host.call(start)
    # changed: false tells a plan's cleanup that this run did not start the VM (so it leaves it on).
    return {"vm": name, "host": host.name, "result": result, "changed": result == "started"}


async def shutdown_vm(ctx: ActionContext, p: VmShutdown) -> dict[str, Any]:
    """Shut a VM down gracefully (ACPI)"""
    host, name = await _vms(ctx).find_domain(p.name, p.host)

    def shutdown(conn: Any) -> str:
        dom = conn.lookupByName(name)
        if not dom.isActive():
            return "already shut off"
        dom.shutdown()
        return "shutdown requested"

    result = await host.call(shutdown)
    if p.wait_s and result == "shutdown requested":
        from backends.libvirt.provision import wait_inactive

        stopped = await host.call(lambda c: wait_inactive(c, name, p.wait_s))
        if not stopped:
            raise ActionError(f"{name} is still running {p.wait_s:g} s after the ACPI shutdown; "
                              f"the guest ignores it: use vm.force_off")
        result = "shut off"
    return {"vm": name, "host": host.name, "result": result}


async def force_off_vm(ctx: ActionContext, p: VmRef) -> dict[str, Any]:
    """Force a VM off (pull the plug)"""
    host, name = await _vms(ctx).find_domain(p.name, p.host)

    def destroy(conn: Any) -> str:
        dom = conn.lookupByName(name)
        if not dom.isActive():
            return "already shut off"
        dom.destroy()
        return "forced off"

    return {"vm": name, "host": host.name, "result": await host.call(destroy)}


def _define_checks(conn: Any, host: LibvirtHostConnection, p: VmDefine) -> tuple[list[str], dict[str, Any], list[str], int | None]:
    """(errors, devices by address, GPU addresses to add, overlay bytes) — before creating anything."""
    import libvirt

    errors: list[str] = []
    if p.name in {d.name() for d in conn.listAllDomains()}:
        errors.append(f"a VM named {p.name!r} already exists on {host.name}")
    devices = {d.address: d for d in read_pci_nodedevs(conn, test_host_file(host.uri))}
    claims = read_domain_claims(conn) + [DomainClaim(p.name, False, ())]
    addresses: list[str] = []
    for gpu in p.gpus:
        check = check_assignment(p.name, gpu, list(devices.values()), claims, share=p.share_gpus, host=host.name)
        errors.extend(f"gpus: {e}" for e in check.errors)
        for a in check.addresses:
            if a in addresses:
                errors.append(f"gpus: {a} is listed twice")
            else:
                addresses.append(a)
    capacity = None
    if p.base_image and p.disk_path:
        errors.append("give base_image (a new overlay) or disk_path (an existing disk), not both")
    if p.base_image:
        facts = image_facts(conn, p.base_image, host.is_local)
        if not facts.exists:
            errors.append(f"base_image: {p.base_image} does not exist on {host.name}")
        else:
            size = facts.virtual_size or 0
            capacity = p.disk_gb * (1 << 30) if p.disk_gb else size
            if capacity < size:
                errors.append(f"disk_gb: {p.disk_gb} GiB is too little disk: base image {p.base_image} is "
                              f"{size / (1 << 30):.1f} GiB (set disk_gb >= {-(-size // (1 << 30))})")
    elif p.disk_gb:
        errors.append("disk_gb needs base_image (the overlay is made on it)")
    if host.is_local:
        for label, path in (("disk_path", p.disk_path), ("kernel", p.kernel), ("initrd", p.initrd)):
            if path and not os.path.exists(path):
                errors.append(f"{label}: {path} does not exist")
    if p.network:
        try:
            conn.networkLookupByName(p.network)
        except libvirt.libvirtError:
            errors.append(f"network: no libvirt network named {p.network!r} on {host.name}")
    return errors, devices, addresses, capacity


async def define_vm(ctx: ActionContext, p: VmDefine) -> dict[str, Any]:
    """Define a new VM"""
    source = _vms(ctx)
    host = source.host(p.host)
    errors, devices, addresses, capacity = await host.call(lambda c: _define_checks(c, host, p))
    if errors:
        raise ActionError(f"cannot define {p.name}: " + "; ".join(errors))
    settings = ctx.runtime.config.cockpit.libvirt
    journal = Journal(host)
    try:
        disk = p.disk_path
        if p.base_image:
            ctx.progress(f"overlay {p.name}.qcow2 on {p.base_image}")
            await host.call(lambda c: ensure_pool(c, settings.storage_pool, settings.pool_path, journal))
            disk = await host.call(lambda c: create_overlay(c, settings.storage_pool, f"{p.name}.qcow2", p.base_image,
                                                            capacity or 0))
            journal.add(f"volume {p.name}.qcow2", lambda c: delete_volume(c, settings.storage_pool, f"{p.name}.qcow2"))
        domain_type = domain_type_for(host, p.domain_type if p.domain_type != "auto" else settings.domain_type)
        spec = DomainSpec(
            name=p.name, memory_mib=p.memory_mib, vcpus=p.vcpus, domain_type=domain_type,
            cpu_mode="host-passthrough" if domain_type in ("kvm", "test") else None,
            disks=(DiskSpec(path=disk, format="qcow2" if p.base_image else _format_of(disk)),) if disk else (),
            interfaces=(InterfaceSpec(network=p.network, mac=_mac(p.name)),) if p.network else (),
            hostdevs=_hostdev_specs(addresses, devices),
            kernel=p.kernel, initrd=p.initrd, cmdline=p.cmdline, serial_log=p.serial_log,
            emulator=_emulator() if domain_type in ("kvm", "qemu") and host.is_local else None,
            on_reboot="destroy" if p.kernel else "restart",
            balloon=not p.kernel,
        )
        xml = render_domain(spec)
        ctx.progress(f"define {p.name}")
        await host.call(lambda c: define_domain(c, xml))
        journal.add(f"domain {p.name}", lambda c: undefine_domain(c, p.name))
        result = "defined"
        if p.start:
            ctx.progress(f"start {p.name}")
            await host.call(lambda c: c.lookupByName(p.name).create())
            result = "defined and started"
    except Exception as exc:
        undone, failures = await journal.rollback(ctx.progress)
        raise ActionError(f"defining {p.name} failed: {_first_line(exc)}; rolled back: {', '.join(undone) or 'nothing'}"
                          + (f"; could not roll back: {'; '.join(failures)}" if failures else "")) from exc
    source.invalidate(host.name)
    return {"vm": p.name, "host": host.name, "result": result, "gpus": addresses, "disk": disk}


def _format_of(path: str | None) -> str:
    return "qcow2" if path and path.endswith(".qcow2") else "raw"


def _mac(name: str) -> str:
    from cockpit.clusters import mac_for

    return mac_for(name)


def _emulator() -> str | None:
    import shutil

    return shutil.which("qemu-system-x86_64")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


async def undefine_vm(ctx: ActionContext, p: VmUndefine) -> dict[str, Any]:
    """Remove a VM's definition"""
    source = _vms(ctx)
    host, name = await source.find_domain(p.name, p.host)

    def undefine(conn: Any) -> list[str]:
        import libvirt

        dom = conn.lookupByName(name)
        if dom.isActive():
            raise ActionRefused(f"{name} is running: shut it down (vm.shutdown / vm.force_off) before undefining it")
        removed = []
        if p.remove_disks:
            for disk in parse_disks(dom.XMLDesc(XML_INACTIVE)):
                try:
                    conn.storageVolLookupByPath(disk).delete(0)
                    removed.append(disk)
                except libvirt.libvirtError:
                    pass  # not a pool volume: left alone (we only delete what libvirt manages)
        undefine_domain(conn, name)
        return removed

    removed = await host.call(undefine)
    source.invalidate(host.name)
    return {"vm": name, "host": host.name, "result": "undefined", "disks_removed": removed}


def parse_disks(domain_xml: str) -> list[str]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(domain_xml)
    return [s.get("file") for s in root.iterfind("devices/disk/source") if s.get("file")]


async def describe_vm(ctx: ActionContext, p: VmRef) -> dict[str, Any]:
    """Show a VM's XML, devices and addresses"""
    host, name = await _vms(ctx).find_domain(p.name, p.host)

    def describe(conn: Any) -> dict[str, Any]:
        dom = conn.lookupByName(name)
        live = dom.XMLDesc()
        facts = parse_facts(live)
        return {
            "vm": name, "host": host.name, "active": bool(dom.isActive()),
            "xml": live, "inactive_xml": dom.XMLDesc(XML_INACTIVE),
            "hostdevs": [{"address": h.address, "managed": h.managed, "guest_address": h.guest_address,
                          "rom_bar": h.rom_bar} for h in facts.hostdevs],
            "interfaces": [{"mac": m} for m in facts.macs], "networks": list(facts.networks),
            "disks": parse_disks(live), "ips": list(domain_ips(dom)),
        }

    return await host.call(describe)


async def vm_target(ctx: ActionContext, p: VmRef) -> str:
    """The domain the name points at now, by UUID: a VM undefined and defined again under the same
    name between the confirmation and the action is a different VM."""
    host, name = await _vms(ctx).find_domain(p.name, p.host)
    uuid = await host.call(lambda conn: conn.lookupByName(name).UUIDString())
    return f"VM {name} on {host.name} (uuid {uuid})"


def _where(p: Any) -> str:
    return f"VM {p.name}" + (f" on host {p.host}" if p.host else "")


def _define_text(p: VmDefine) -> str:
    parts = [f"Define VM {p.name} ({p.vcpus} vCPU, {p.memory_mib} MiB)"]
    if p.base_image:
        parts.append(f"with a new qcow2 overlay on {p.base_image}" + (f" of {p.disk_gb} GiB" if p.disk_gb else ""))
    if p.disk_path:
        parts.append(f"on disk {p.disk_path}")
    if p.gpus:
        parts.append(f"holding {', '.join(p.gpus)} and their companion functions")
    if p.start:
        parts.append("and start it")
    return " ".join(parts) + ". Anything created is removed again if a step fails."


def register(registry: ActionRegistry) -> None:
    registry.action("vm.start", VmRef, Danger.CHANGE, title="Start VM",
                    confirm=lambda p: f"Start {_where(p)}. Its GPUs must not be held by another running VM.",
                    refresh=("vms", "gpus"), target=vm_target)(start_vm)
    registry.action("vm.shutdown", VmShutdown, Danger.CHANGE, title="Shut down VM",
                    confirm=lambda p: f"Send an ACPI shutdown to {_where(p)}; the guest decides when to stop.",
                    refresh=("vms", "gpus"), target=vm_target)(shutdown_vm)
    registry.action("vm.force_off", VmRef, Danger.DESTROY, title="Force VM off",
                    confirm=lambda p: f"Pull the plug on {_where(p)} at once: unsaved guest data is lost.",
                    refresh=("vms", "gpus"), target=vm_target)(force_off_vm)
    registry.action("vm.define", VmDefine, Danger.CHANGE, title="Define VM", confirm=_define_text,
                    refresh=("vms", "gpus"))(define_vm)
    registry.action("vm.undefine", VmUndefine, Danger.DESTROY, title="Undefine VM",
                    confirm=lambda p: f"Remove the definition of {_where(p)}"
                    + (" and delete its disk volumes" if p.remove_disks else " (its disks stay)") + ". It must be shut off.",
                    refresh=("vms", "gpus"), target=vm_target)(undefine_vm)
    registry.action("vm.describe", VmRef, Danger.READ, title="Describe VM")(describe_vm)
