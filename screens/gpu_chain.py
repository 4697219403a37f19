"""The GPU map for one GPU, in a modal: the VM it is passed to, the node that VM is, the SLURM job
or pod holding it and the MLflow run that logs from there (cockpit.gpu_map, over the hub's
current snapshots). Read-only: nothing here runs an action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.gpu_map import GpuMap, IdlePolicy, build_gpu_map, vm_places


def _describe(ref: Any, snapshots: Mapping[str, Any]) -> str:
    """One ref in words, from the item it names."""
    if ref.section == "nodes":
        return f"{'SLURM' if ref.source == 'slurm' else 'Kubernetes'} node {ref.key}"
    snap = snapshots.get(ref.source)
    item = snap.items.get(ref.key) if snap is not None else None
    if ref.source == "vms":
        return f"VM {getattr(item, 'name', ref.key)} ({getattr(item, 'state', '?')})"
    if ref.source == "slurm":
        return f"SLURM job {getattr(item, 'display_id', ref.key)} {getattr(item, 'name', '')} " \
               f"({getattr(item, 'user', None) or '?'}, {getattr(item, 'state', '?')})"
    if ref.source == "kubernetes":
        return f"pod {getattr(item, 'namespace', '')}/{getattr(item, 'name', ref.key)} ({getattr(item, 'phase', '?')})"
    if ref.source == "mlflow":
        return f"MLflow run {getattr(item, 'name', None) or ref.key} in {getattr(item, 'experiment', '?')} " \
               f"({getattr(item, 'status', '?')})"
    return f"{ref.source} {ref.key}"


def chain_text(gmap: GpuMap, gpu_key: str, snapshots: Mapping[str, Any]) -> str:
    use = next((g for g in gmap.gpus if g.gpu == gpu_key), None)
    if use is None:
        return f"{gpu_key}: not in the GPU snapshot"
    lines = [f"GPU {use.pci_address}" + (f"  {use.uuid}" if use.uuid else "")]
    for link in gmap.chain(gpu_key):
        extra = []
        if "gres_index" in link.attrs:
            extra.append(f"GRES index {link.attrs['gres_index']} on {link.attrs.get('node')}")
        detail = f"  [{', '.join(extra)}]" if extra else ""
        lines.append(f"  {link.relation:<12} {_describe(link.dst, snapshots)}{detail}   ({link.basis})")
    if len(lines) == 1:
        lines.append("  not passed to any VM in the snapshot")
    util = f"{use.utilization_pct}%" if use.utilization_pct is not None else "no reading"
    idle = use.idle(gmap.policy)
    state = "allocated" if use.allocated else "not allocated"
    if idle:
        state += f", IDLE (under {gmap.policy.below_pct:g}% now; the {gmap.policy.for_s / 60:g} min part needs history)"
    lines.append(f"use          {util}, {state}")
    return "\n".join(lines)


class GpuChainScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "close")]  # noqa: RUF012 (Textual's own convention)
    DEFAULT_CSS = """
    GpuChainScreen { align: center middle; }
    GpuChainScreen > Vertical { width: 100; height: auto; max-height: 90%; border: thick $accent; padding: 1 2; background: $surface; }
    """

    def __init__(self, runtime: Any, item: Any) -> None:
        super().__init__()
        self.runtime = runtime
        self.item = item

    def text(self) -> str:
        snapshots = self.runtime.hub.snapshots()
        gpus = self.runtime.config.cockpit.gpus
        policy = IdlePolicy(below_pct=gpus.idle_below_pct, for_s=gpus.idle_for_min * 60)
        gmap = build_gpu_map(snapshots, vm_places(self.runtime.config), policy)
        return chain_text(gmap, self.item.key(), snapshots)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text(), id="chain")
            yield Static("escape: close", classes="hint")
