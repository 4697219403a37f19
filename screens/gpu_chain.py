"""The GPU map in a modal: for a GPU, the VM it is passed to, the node that VM is, the SLURM job or
pod holding it and the MLflow run that logs from there; for a VM, job, pod or run, the chains it lies
on (cockpit.gpu_map, over the hub's current snapshots). Keys 1..9 jump to a linked item's pane with
the cursor on it. Read-only: nothing here runs an action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.gpu_map import GpuMap, Ref, build_gpu_map, policy_of, vm_places


def _describe(ref: Any, snapshots: Mapping[str, Any]) -> str:
    """One ref in words, from the item it names."""
    if ref.section == "nodes":
        return f"{'SLURM' if ref.source == 'slurm' else 'Kubernetes'} node {ref.key}"
    snap = snapshots.get(ref.source)
    item = snap.items.get(ref.key) if snap is not None else None
    if ref.source == "gpus":
        return f"GPU {getattr(item, 'pci_address', ref.key)} on {getattr(item, 'host', '?')}"
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


def chain_text_through(gmap: GpuMap, ref: Ref, snapshots: Mapping[str, Any]) -> str:
    """The chains a VM, job, pod or run lies on, one link a line (from -> to)."""
    lines = [_describe(ref, snapshots)]
    for link in gmap.chain_through(ref):
        lines.append(f"  {link.relation:<12} {_describe(link.src, snapshots)} -> {_describe(link.dst, snapshots)}"
                     f"   ({link.basis})")
    if len(lines) == 1:
        lines.append("  on no GPU chain in the snapshots (no GPU reaches it, no run names it)")
    return "\n".join(lines)


def jump_targets(links: list[Any], here: Ref) -> list[Ref]:
    """The items the chain names, in chain order, each once, without the one the modal is about."""
    out: list[Ref] = []
    for link in links:
        for ref in (link.src, link.dst):
            if ref != here and ref not in out:
                out.append(ref)
    return out[:9]  # keys 1..9


class GpuChainScreen(ModalScreen[None]):
    """The chain through one row's item; 1..9 jump to a linked item's pane with the cursor on it."""

    SOURCE = "gpus"  # the source of the rows this modal is opened on
    BINDINGS = [Binding("escape", "dismiss", "close"),  # noqa: RUF012 (Textual's own convention)
                *(Binding(str(n), f"jump({n - 1})", show=False) for n in range(1, 10))]
    DEFAULT_CSS = """
    GpuChainScreen { align: center middle; }
    GpuChainScreen > Vertical { width: 110; height: auto; max-height: 90%; border: thick $accent; padding: 1 2; background: $surface; }
    """

    def __init__(self, runtime: Any, item: Any) -> None:
        super().__init__()
        self.runtime = runtime
        self.item = item
        self.ref = Ref(self.SOURCE, str(item.key()))
        self.targets: list[Ref] = []

    def text(self) -> str:
        snapshots = self.runtime.hub.snapshots()
        gmap = build_gpu_map(snapshots, vm_places(self.runtime.config), policy_of(self.runtime.config))
        if self.SOURCE == "gpus":
            self.targets = jump_targets(gmap.chain(self.ref.key), self.ref)
            body = chain_text(gmap, self.ref.key, snapshots)
        else:
            self.targets = jump_targets(gmap.chain_through(self.ref), self.ref)
            body = chain_text_through(gmap, self.ref, snapshots)
        if self.targets:
            body += "\n\njump to:\n" + "\n".join(
                f"  {n}  {_describe(ref, snapshots)}" for n, ref in enumerate(self.targets, start=1))
        return body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text(), id="chain")
            yield Static("1..9: jump to that item  escape: close" if self.targets else "escape: close", classes="hint")

    def action_jump(self, index: int) -> None:
        if index >= len(self.targets):
            return
        ref = self.targets[index]
        app = self.app
        self.dismiss()
        jump = getattr(app, "jump_to", None)
        if jump is not None:
            jump(ref.source, ref.section, ref.key)


class VmChainScreen(GpuChainScreen):
    SOURCE = "vms"


class JobChainScreen(GpuChainScreen):
    SOURCE = "slurm"


class PodChainScreen(GpuChainScreen):
    SOURCE = "kubernetes"


class RunChainScreen(GpuChainScreen):
    SOURCE = "mlflow"
