"""Bring a cluster of the config up or down, in order, all or nothing.

`cluster.up`: check everything first (PCI addresses, GPUs assigned twice or held by running VMs,
base images, disk sizes, bridge names) and create nothing when a check fails; then network,
storage pool, one qcow2 overlay per VM, define every VM, start the auto_start ones. If any step
fails, what this run created is undone, newest first. VMs that already existed are left alone.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from backends.libvirt.provision import (Journal, create_overlay, define_domain, delete_volume, destroy_if_active,
                                        domain_type_for, ensure_network, ensure_pool, gather_facts, network_spec,
                                        undefine_domain, vm_domain_spec, wait_inactive)
from backends.libvirt.xmlgen import render_domain
from cockpit.actions import ActionContext, ActionError, ActionRegistry, Danger
from cockpit.clusters import ClusterPlan, all_plans, check_plan, images_of, plan_cluster
from cockpit.placement import start_problems


class ClusterRef(BaseModel):
    cluster: Literal["hpc", "cloud"] = Field(description="which cluster of the config")
    host: str | None = Field(default=None, description="libvirt host (default: the only/first one)")


class ClusterDown(ClusterRef):
    timeout_s: float = Field(default=120, ge=0, le=3600, description="wait this long for each guest to stop")
    force: bool = Field(default=False, description="force off VMs still running after timeout_s")


def _host(ctx: ActionContext, name: str | None) -> Any:
    from cockpit.ops.vms import _vms

    source = _vms(ctx)
    return source.host(name) if name or len(source.hosts) == 1 else next(iter(source.hosts.values()))


def _plan(ctx: ActionContext, p: ClusterRef) -> ClusterPlan:
    try:
        return plan_cluster(ctx.runtime.config, p.cluster)
    except ValueError as exc:
        raise ActionError(str(exc)) from None


async def _problems(ctx: ActionContext, host: Any, plan: ClusterPlan) -> tuple[list[str], Any]:
    pool = ctx.runtime.config.cockpit.libvirt.storage_pool
    facts, volumes = await host.call(lambda c: gather_facts(c, host, images_of([plan]), pool))
    problems = check_plan(plan, facts)
    for vm in plan.vms:
        if vm.name not in facts.domains and vm.disk_name in volumes:
            problems.append(f"{vm.path}: volume {vm.disk_name} already exists in storage pool {pool} but VM "
                            f"{vm.name} does not (left over? delete the volume first)")
    return problems, facts


async def plan_action(ctx: ActionContext, p: ClusterRef) -> dict[str, Any]:
    """Show what cluster.up would create, and every problem found (changes nothing)"""
    host = _host(ctx, p.host)
    plan = _plan(ctx, p)
    problems, facts = await _problems(ctx, host, plan)
    summary = plan.summary()
    for vm in summary["vms"]:
        vm["exists"] = vm["name"] in facts.domains
    return {**summary, "host": host.name, "problems": problems, "ok": not problems}


async def cluster_up(ctx: ActionContext, p: ClusterRef) -> dict[str, Any]:
    """Create and start a cluster from the config"""
    host = _host(ctx, p.host)
    plan = _plan(ctx, p)
    settings = ctx.runtime.config.cockpit.libvirt
    problems, facts = await _problems(ctx, host, plan)
    if problems:
        raise ActionError(f"cluster {plan.name} was not created ({len(problems)} problem"
                          f"{'s' if len(problems) != 1 else ''}): " + "; ".join(problems))
    cluster_cfg = getattr(ctx.runtime.config.clusters, plan.kind)
    domain_type = domain_type_for(host, settings.domain_type)
    host_cpus = await host.call(lambda c: int(c.getInfo()[2]))
    journal = Journal(host)
    created: list[str] = []
    started: list[str] = []
    step = "checks"
    try:
        spec = network_spec(plan)
        if spec is not None:
            step = f"network {spec.name}"
            ctx.progress(step)
            await host.call(lambda c: ensure_network(c, spec, journal))
        step = f"storage pool {settings.storage_pool}"
        await host.call(lambda c: ensure_pool(c, settings.storage_pool, settings.pool_path, journal))
        pin_offset = 0
        for vm in plan.vms:
            if vm.name in facts.domains:
                ctx.progress(f"{vm.name} exists: left as it is")
                continue
            step = f"overlay {vm.disk_name}"
            ctx.progress(step)
            image = facts.images[vm.base_image]
            size = max(vm.spec.disk_gb * (1 << 30), image.virtual_size or 0)
            disk = await host.call(lambda c, vm=vm, size=size, fmt=image.format or "qcow2": create_overlay(
                c, settings.storage_pool, vm.disk_name, vm.base_image, size, fmt))
            journal.add(f"volume {vm.disk_name}", lambda c, vm=vm: delete_volume(c, settings.storage_pool, vm.disk_name))
            step = f"define {vm.name}"
            ctx.progress(step)
            xml = render_domain(vm_domain_spec(vm, domain_type=domain_type, disk_path=disk, network=plan.network_name,
                                               hardware=(cluster_cfg.hardware or None), pin_offset=pin_offset,
                                               host_cpus=host_cpus))
            pin_offset += vm.spec.cpu_cores
            await host.call(lambda c, xml=xml: define_domain(c, xml))
            journal.add(f"VM {vm.name}", lambda c, vm=vm: undefine_domain(c, vm.name))
            created.append(vm.name)
        for vm in plan.start_order():
            step = f"start {vm.name}"
            ctx.progress(step)

            def start(c: Any, vm: Any = vm) -> str:
                from backends.libvirt.domains import read_domain_claims

                dom = c.lookupByName(vm.name)
                if dom.isActive():
                    return "running"
                claims = read_domain_claims(c)
                mine = next((cl for cl in claims if cl.vm == vm.name), None)
                held = start_problems(vm.name, mine.addresses if mine else (), claims)
                if held:
                    raise RuntimeError("; ".join(held))
                dom.create()
                return "started"

            if await host.call(start) == "started":
                journal.add(f"started {vm.name}", lambda c, vm=vm: destroy_if_active(c, vm.name))
                started.append(vm.name)
    except Exception as exc:
        undone, failures = await journal.rollback(ctx.progress)
        ctx.adapter("vms").invalidate(host.name)
        message = (f"cluster {plan.name}: step '{step}' failed: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}; "
                   f"rolled back: {', '.join(undone) or 'nothing'}")
        if failures:
            message += f"; could not roll back: {'; '.join(failures)} (remove those by hand)"
        raise ActionError(message) from exc
    ctx.adapter("vms").invalidate(host.name)
    return {"cluster": plan.name, "host": host.name, "created": created, "started": started,
            "left_stopped": [vm.name for vm in plan.vms if not vm.auto_start],
            "network": plan.network_name}


async def _stop_all(ctx: ActionContext, host: Any, plan: ClusterPlan, timeout: float, force: bool) -> tuple[list[str], list[str]]:
    stopped, still = [], []
    for vm in plan.stop_order():  # workers first, controller last
        def shutdown(c: Any, name: str = vm.name) -> bool:
            import libvirt

            try:
                dom = c.lookupByName(name)
            except libvirt.libvirtError:
                return False
            if not dom.isActive():
                return False
            dom.shutdown()
            return True

        if await host.call(shutdown):
            ctx.progress(f"shutting down {vm.name}")
            if await host.call(lambda c, name=vm.name: wait_inactive(c, name, timeout)):
                stopped.append(vm.name)
            elif force:
                await host.call(lambda c, name=vm.name: destroy_if_active(c, name))
                stopped.append(f"{vm.name} (forced off)")
            else:
                still.append(vm.name)
    return stopped, still


async def cluster_down(ctx: ActionContext, p: ClusterDown) -> dict[str, Any]:
    """Shut a cluster's VMs down (workers first, controller last)"""
    host = _host(ctx, p.host)
    plan = _plan(ctx, p)
    stopped, still = await _stop_all(ctx, host, plan, p.timeout_s, p.force)
    ctx.adapter("vms").invalidate(host.name)
    if still:
        raise ActionError(f"cluster {plan.name}: {', '.join(still)} still running after {p.timeout_s:g} s "
                          f"(stopped: {', '.join(stopped) or 'none'}); re-run with force=true to force them off")
    return {"cluster": plan.name, "host": host.name, "stopped": stopped}


async def cluster_remove(ctx: ActionContext, p: ClusterDown) -> dict[str, Any]:
    """Shut down and delete a cluster: its VMs, their overlays and its network"""
    host = _host(ctx, p.host)
    plan = _plan(ctx, p)
    pool = ctx.runtime.config.cockpit.libvirt.storage_pool
    stopped, still = await _stop_all(ctx, host, plan, p.timeout_s, p.force)
    if still:
        raise ActionError(f"cluster {plan.name}: {', '.join(still)} still running; nothing was deleted "
                          f"(re-run with force=true)")
    removed: list[str] = []

    def remove(c: Any) -> None:
        import libvirt

        names = {d.name() for d in c.listAllDomains()}
        for vm in plan.vms:
            if vm.name in names:
                undefine_domain(c, vm.name)
                removed.append(f"VM {vm.name}")
            if delete_volume(c, pool, vm.disk_name):
                removed.append(f"volume {vm.disk_name}")
        if plan.network is not None:
            try:
                net = c.networkLookupByName(plan.network.name)
            except libvirt.libvirtError:
                return
            users = [d.name() for d in c.listAllDomains() if f"network='{plan.network.name}'" in d.XMLDesc()]
            if users:
                removed.append(f"network {plan.network.name} kept (still used by {', '.join(users)})")
                return
            if net.isActive():
                net.destroy()
            net.undefine()
            removed.append(f"network {plan.network.name}")

    await host.call(remove)
    ctx.adapter("vms").invalidate(host.name)
    return {"cluster": plan.name, "host": host.name, "stopped": stopped, "removed": removed}


# -- every cluster of the config, in order -----------------------------------------------------
class AllClusters(BaseModel):
    host: str | None = Field(default=None, description="libvirt host (default: the only/first one)")


class AllClustersDown(AllClusters):
    timeout_s: float = Field(default=120, ge=0, le=3600, description="wait this long for each guest to stop")
    force: bool = Field(default=False, description="force off VMs still running after timeout_s")


def _all_plans(ctx: ActionContext) -> list[ClusterPlan]:
    """hpc then cloud (the order they come up in); refused when the config has no clusters."""
    plans = all_plans(ctx.runtime.config)
    if not plans:
        raise ActionError("the config has no clusters: section (clusters -> hpc / clusters -> cloud)")
    return plans


async def all_up_target(ctx: ActionContext, p: AllClusters) -> str:
    """Every VM clusters.up touches, in order: the confirmation names each one."""
    return "; then ".join(
        f"{plan.kind} {plan.name}: {', '.join(vm.name + ('' if vm.auto_start else ' (defined, left stopped)') for vm in plan.vms)}"
        for plan in _all_plans(ctx))


async def all_down_target(ctx: ActionContext, p: AllClustersDown) -> str:
    return "; then ".join(f"{plan.kind} {plan.name}: {', '.join(vm.name for vm in plan.stop_order())}"
                          for plan in reversed(_all_plans(ctx)))


async def all_up(ctx: ActionContext, p: AllClusters) -> dict[str, Any]:
    """Bring every cluster of the config up: hpc first, then cloud"""
    done: list[dict[str, Any]] = []
    for plan in _all_plans(ctx):
        ctx.progress(f"cluster {plan.name} ({plan.kind})")
        try:
            done.append(await cluster_up(ctx, ClusterRef(cluster=plan.kind, host=p.host)))
        except ActionError as exc:
            raise ActionError(f"{exc}; clusters already up: {', '.join(d['cluster'] for d in done) or 'none'} "
                              f"(left running); not attempted after {plan.name}") from exc
    return {"clusters": done}


async def all_down(ctx: ActionContext, p: AllClustersDown) -> dict[str, Any]:
    """Shut every cluster of the config down: cloud first, then hpc"""
    done: list[dict[str, Any]] = []
    for plan in reversed(_all_plans(ctx)):
        ctx.progress(f"cluster {plan.name} ({plan.kind})")
        try:
            done.append(await cluster_down(ctx, ClusterDown(cluster=plan.kind, host=p.host, timeout_s=p.timeout_s,
                                                            force=p.force)))
        except ActionError as exc:
            raise ActionError(f"{exc}; clusters already down: {', '.join(d['cluster'] for d in done) or 'none'}; "
                              f"not attempted after {plan.name}") from exc
    return {"clusters": done}


def _up_text(p: ClusterRef) -> str:
    return (f"Create the {p.cluster} cluster from the config: its network, one qcow2 overlay per VM, define every "
            f"VM and start those with auto_start. Checks run first; if a step fails, what this run created is removed.")


def register(registry: ActionRegistry) -> None:
    registry.action("cluster.plan", ClusterRef, Danger.READ, title="Plan a cluster")(plan_action)
    registry.action("cluster.up", ClusterRef, Danger.CHANGE, title="Bring cluster up", confirm=_up_text,
                    refresh=("vms", "gpus"))(cluster_up)
    registry.action("cluster.down", ClusterDown, Danger.CHANGE, title="Shut cluster down",
                    confirm=lambda p: f"Shut down every VM of the {p.cluster} cluster, workers first, controller last"
                    + (f"; force off any still running after {p.timeout_s:g} s." if p.force else "."),
                    refresh=("vms", "gpus"))(cluster_down)
    registry.action("cluster.remove", ClusterDown, Danger.DESTROY, title="Delete cluster",
                    confirm=lambda p: f"Shut down and DELETE the {p.cluster} cluster: undefine its VMs, delete their "
                    "overlays and its network. Base images stay.", refresh=("vms", "gpus"))(cluster_remove)
    registry.action("clusters.up", AllClusters, Danger.CHANGE, title="Bring every cluster up",
                    confirm=lambda p: "Bring every cluster of the config up in order, hpc first, then cloud: each as "
                    "cluster.up (checks first; a failed cluster is rolled back, the ones before it stay up).",
                    refresh=("vms", "gpus"), target=all_up_target)(all_up)
    registry.action("clusters.down", AllClustersDown, Danger.CHANGE, title="Shut every cluster down",
                    confirm=lambda p: "Shut every cluster of the config down in order, cloud first, then hpc, workers "
                    "before controllers" + (f"; force off any VM still running after {p.timeout_s:g} s." if p.force
                                            else "."),
                    refresh=("vms", "gpus"), target=all_down_target)(all_down)
