"""Provisioning actions: run a playbook, dry-run it (check mode with diffs), cancel a run, and
show the generated inventory. Runs stream into the hub's `provisioning` source while they go."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from cockpit.actions import ActionContext, ActionError, ActionRefused, ActionRegistry, Danger

_SECRET_NAME = re.compile(r"pass|secret|token|private_key|api_key", re.IGNORECASE)


class InventoryParams(BaseModel):
    live: bool = Field(default=True, description="take addresses from the vms snapshot when VMs report them")
    format: Literal["yaml", "ini"] = "yaml"


class PlaybookParams(BaseModel):
    playbook: str = Field(min_length=1, description="playbook in provisioning/ansible (slurm.yml, site.yml, ...) or a path")
    limit: str | None = Field(default=None, description="ansible --limit pattern")
    tags: str | None = Field(default=None, description="ansible --tags")
    inventory: str | None = Field(default=None, description="inventory file; default: generated from the config")
    extravars: dict[str, Any] = Field(default_factory=dict, description="extra variables (-e)")
    secret_vars: dict[str, SecretStr] = Field(default_factory=dict, description="extra variables kept out of audit and logs")
    timeout_s: int | None = Field(default=None, ge=1, description="cancel the run after this many seconds")

    @field_validator("extravars")
    @classmethod
    def _no_secrets_in_clear(cls, value: dict[str, Any]) -> dict[str, Any]:
        leaked = sorted(k for k in value if _SECRET_NAME.search(k))
        if leaked:
            raise ValueError(f"{', '.join(leaked)} look like secrets: pass them in secret_vars (redacted in the audit log)")
        return value


class CancelParams(BaseModel):
    run_id: str | None = Field(default=None, description="run to cancel; default: the one running")


def _source(ctx: ActionContext) -> Any:
    return ctx.runtime.provisioning()


def generate_inventory(ctx: ActionContext, live: bool) -> Any:
    """The inventory for the runtime's config, with live IPs from the vms snapshot already in the
    hub (no extra fetch: an action must not wait on libvirt)."""
    from cockpit.cli_inventory import options_for
    from cockpit.inventory import build_inventory, live_ips_from_vms

    runtime = ctx.runtime
    ips: dict[str, tuple[str, ...]] = {}
    if live and runtime.loaded.config.cockpit.ansible.live_ips and "vms" in runtime.hub.collectors:
        ips = live_ips_from_vms(runtime.hub.collectors["vms"].snapshot.items.values())
    return build_inventory(runtime.loaded.config, options_for(runtime.loaded, ips))


async def _inventory_file(ctx: ActionContext, source: Any, p: PlaybookParams) -> str:
    if p.inventory:
        if not Path(p.inventory).is_file():
            raise ActionError(f"inventory {p.inventory} does not exist")
        return p.inventory
    import asyncio

    from cockpit.inventory import InventoryError, to_yaml, write_inventory

    try:
        inventory = generate_inventory(ctx, live=True)
    except InventoryError as exc:
        raise ActionError(f"cannot generate the inventory: {exc}") from None
    for warning in inventory.warnings:
        ctx.progress(f"inventory: {warning}")
    target = source.runner.base_dir / "inventories" / f"inventory-{len(source.runner.runs) + 1:04d}.yml"
    await asyncio.to_thread(write_inventory, to_yaml(inventory), target)
    return str(target)


def _summary(state: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"run_id": state.run_id, "playbook": state.playbook, "status": state.status, "rc": state.rc,
                           "check": state.check, "stats": state.stats,
                           "failed": [{"host": r.host, "task": r.task, "status": r.status, "message": r.message}
                                      for r in state.failures()]}
    if state.check:
        out["changes"] = [{"host": r.host, "task": r.task, "diff": r.diff}
                          for r in state.rows() if r.status == "changed"]
    return out


async def _run(ctx: ActionContext, p: PlaybookParams, check: bool) -> dict[str, Any]:
    from backends.ansible.runner import RunError

    source = _source(ctx)
    if check and (Path(p.playbook).is_absolute() or ".." in Path(p.playbook).parts):
        # check runs are 'read' actions (viewers may run them): only the project's own playbooks
        raise ActionRefused(f"dry runs take a playbook of the project dir, not {p.playbook!r}")
    inventory = await _inventory_file(ctx, source, p)
    extravars = {**p.extravars, **{k: v.get_secret_value() for k, v in p.secret_vars.items()}}
    try:
        handle = await source.runner.start(p.playbook, inventory, check=check, limit=p.limit, tags=p.tags,
                                           extravars=extravars, timeout_s=p.timeout_s)
    except RunError as exc:
        raise ActionError(str(exc)) from None
    source.select(None)
    ctx.progress(f"run {handle.run_id}: {p.playbook}{' (check mode)' if check else ''} started")
    state = await source.runner.wait(handle.run_id)
    summary = _summary(state)
    if state.status != "successful":
        first = state.failures()[:1]
        detail = f"; {first[0].host} / {first[0].task}: {_one_line(first[0].message) or first[0].status}" if first else (
            f"; {state.error.splitlines()[-1]}" if state.error else "")
        raise ActionError(f"run {state.run_id} of {p.playbook} {state.status} (rc={state.rc}){detail}")
    return summary


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


async def run_playbook(ctx: ActionContext, p: PlaybookParams) -> dict[str, Any]:
    """Run an Ansible playbook"""
    return await _run(ctx, p, check=False)


async def check_playbook(ctx: ActionContext, p: PlaybookParams) -> dict[str, Any]:
    """Dry-run an Ansible playbook (check mode with diffs)"""
    return await _run(ctx, p, check=True)


async def cancel_run(ctx: ActionContext, p: CancelParams) -> dict[str, Any]:
    """Cancel a provisioning run"""
    from backends.ansible.runner import RunError

    source = _source(ctx)
    try:
        handle = source.runner.cancel(p.run_id)
    except RunError as exc:
        raise ActionError(str(exc)) from None
    if handle.state.finished:
        return {"run_id": handle.run_id, "status": handle.state.status, "result": "already finished"}
    state = await source.runner.wait(handle.run_id, timeout=60)
    return {"run_id": handle.run_id, "status": state.status}


async def show_inventory(ctx: ActionContext, p: InventoryParams) -> dict[str, Any]:
    """Show the inventory generated from the config"""
    from cockpit.inventory import InventoryError, render

    try:
        inventory = generate_inventory(ctx, p.live)
    except InventoryError as exc:
        raise ActionError(str(exc)) from None
    return {"hosts": sorted(inventory.hosts()), "groups": sorted(inventory.groups()), "warnings": inventory.warnings,
            "text": render(inventory, p.format)}


def _where(p: PlaybookParams) -> str:
    hosts = f"hosts matching {p.limit!r}" if p.limit else "every host of " + (
        f"inventory {p.inventory}" if p.inventory else "the inventory generated from the config")
    tags = f", tags {p.tags}" if p.tags else ""
    return f"{hosts}{tags}"


def register(registry: ActionRegistry) -> None:
    registry.action("ansible.run", PlaybookParams, Danger.CHANGE, title="Run playbook",
                    confirm=lambda p: f"Run Ansible playbook {p.playbook} on {_where(p)}: it installs and "
                                      "configures software there and may restart services.",
                    refresh=("slurm", "storage", "kubernetes", "mlflow"))(run_playbook)
    registry.action("ansible.check", PlaybookParams, Danger.READ, title="Dry-run playbook",
                    confirm=lambda p: f"Dry-run {p.playbook} in check mode on {_where(p)}; nothing is changed.")(check_playbook)
    registry.action("ansible.cancel", CancelParams, Danger.CHANGE, title="Cancel provisioning run",
                    confirm=lambda p: f"Stop provisioning run {p.run_id or '(the one running)'} now: tasks under way "
                                      "are killed and hosts may be left half-configured.")(cancel_run)
    registry.action("ansible.inventory", InventoryParams, Danger.READ, title="Show inventory")(show_inventory)
