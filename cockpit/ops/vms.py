"""VM lifecycle actions on libvirt: start, shut down, force off."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from backends.libvirt.domains import hostdev_addresses
from cockpit.actions import ActionContext, ActionRefused, ActionRegistry, Danger


class VmRef(BaseModel):
    name: str = Field(min_length=1, description="VM (libvirt domain) name")
    host: str | None = Field(default=None, description="libvirt host name from the config; omit with one host")


def _gpu_holders(conn: Any, vm: str) -> list[str]:
    """Sentences naming running VMs that hold a PCI device this VM wants."""
    wanted = set(hostdev_addresses(conn.lookupByName(vm).XMLDesc(2)))  # 2 = VIR_DOMAIN_XML_INACTIVE
    problems = []
    for dom in conn.listAllDomains():
        if dom.name() == vm or not dom.isActive():
            continue
        shared = wanted & set(hostdev_addresses(dom.XMLDesc()))
        for address in sorted(shared):
            problems.append(f"{address} is held by running VM {dom.name()}")
    return problems


async def start_vm(ctx: ActionContext, p: VmRef) -> dict[str, Any]:
    """Start a VM"""
    libvirt_source = ctx.adapter("vms")
    host, name = await libvirt_source.find_domain(p.name, p.host)
    held = await host.call(lambda c: _gpu_holders(c, name))
    if held:
        raise ActionRefused(f"refusing to start {name}: " + "; ".join(held) + " (shut that VM down first)")

    def start(conn: Any) -> str:
        dom = conn.lookupByName(name)
        if dom.isActive():
            return "already running"
        dom.create()
        return "started"

    return {"vm": name, "host": host.name, "result": await host.call(start)}


async def shutdown_vm(ctx: ActionContext, p: VmRef) -> dict[str, Any]:
    """Shut a VM down gracefully (ACPI)"""
    host, name = await ctx.adapter("vms").find_domain(p.name, p.host)

    def shutdown(conn: Any) -> str:
        dom = conn.lookupByName(name)
        if not dom.isActive():
            return "already shut off"
        dom.shutdown()
        return "shutdown requested"

    return {"vm": name, "host": host.name, "result": await host.call(shutdown)}


async def force_off_vm(ctx: ActionContext, p: VmRef) -> dict[str, Any]:
    """Force a VM off (pull the plug)"""
    host, name = await ctx.adapter("vms").find_domain(p.name, p.host)

    def destroy(conn: Any) -> str:
        dom = conn.lookupByName(name)
        if not dom.isActive():
            return "already shut off"
        dom.destroy()
        return "forced off"

    return {"vm": name, "host": host.name, "result": await host.call(destroy)}


def _where(p: VmRef) -> str:
    return f"VM {p.name}" + (f" on host {p.host}" if p.host else "")


def register(registry: ActionRegistry) -> None:
    registry.action("vm.start", VmRef, Danger.CHANGE, title="Start VM",
                    confirm=lambda p: f"Start {_where(p)}. Its GPUs must not be held by another running VM.",
                    refresh=("vms", "gpus"))(start_vm)
    registry.action("vm.shutdown", VmRef, Danger.CHANGE, title="Shut down VM",
                    confirm=lambda p: f"Send an ACPI shutdown to {_where(p)}; the guest decides when to stop.",
                    refresh=("vms", "gpus"))(shutdown_vm)
    registry.action("vm.force_off", VmRef, Danger.DESTROY, title="Force VM off",
                    confirm=lambda p: f"Pull the plug on {_where(p)} at once: unsaved guest data is lost.",
                    refresh=("vms", "gpus"))(force_off_vm)
