"""The assign-GPU modal: pick a VM, see what would be added and every conflict (from the read
action `gpu.check_assign`) BEFORE confirming; confirm runs `gpu.assign`, audited."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from screens.actor import actor_of

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


def check_text(check: dict[str, Any]) -> str:
    lines = []
    if check.get("addresses"):
        lines.append("adds: " + ", ".join(check["addresses"]))
    for e in check.get("errors") or []:
        lines.append(f"✗ {e}")
    for w in check.get("warnings") or []:
        lines.append(f"⚠ {w}")
    if check.get("ok") and not check.get("warnings"):
        lines.append("✓ no conflicts")
    return "\n".join(lines)


class AssignGpuScreen(ModalScreen[dict[str, Any] | None]):
    """Dismisses with the gpu.assign result, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    AssignGpuScreen { align: center middle; }
    AssignGpuScreen > Vertical { width: 90; height: auto; max-height: 90%; border: thick $accent; padding: 1 2; background: $surface; }
    AssignGpuScreen OptionList { height: auto; max-height: 10; }
    AssignGpuScreen #check { margin: 1 0; }
    """

    def __init__(self, runtime: "Runtime", item: Any) -> None:
        super().__init__()
        self.runtime = runtime
        self.item = item
        self.selected: str | None = None
        self.check: dict[str, Any] | None = None

    def vm_names(self) -> list[str]:
        snap = self.runtime.hub.snapshots().get("vms")
        items = list(snap.items.values()) if snap is not None else []
        return sorted(i.name for i in items if i.host == self.item.host)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Assign {self.item.pci_address} ({self.item.name}) to which VM?")
            yield OptionList(*self.vm_names(), id="vms")
            yield Static("select a VM to see conflicts", id="check")
            with Horizontal():
                yield Button("Assign", id="confirm", variant="warning", disabled=True)
                yield Button("Cancel", id="cancel")

    async def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.selected = str(event.option.prompt)
        await self.refresh_check()

    async def refresh_check(self) -> None:
        self.query_one("#confirm", Button).disabled = True
        if self.selected is None:
            return
        params = {"vm": self.selected, "pci_address": self.item.pci_address, "host": self.item.host}
        result = await self.runtime.dispatcher.invoke("gpu.check_assign", params, actor=actor_of(self), confirmed=True)
        self.check = result.result if result.ok else {"errors": [result.error], "ok": False}
        self.query_one("#check", Static).update(check_text(self.check))
        self.query_one("#confirm", Button).disabled = not self.check.get("ok")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        if event.button.id == "confirm" and self.selected and self.check and self.check.get("ok"):
            from screens.interaction import perform

            # The check above is this screen's confirmation: the seam audits, invokes and says the
            # outcome (a safety check refusing, e.g. the VM started meanwhile, shows here too).
            check = self.query_one("#check", Static)
            result = await perform(
                self, "gpu.assign", {"vm": self.selected, "pci_address": self.item.pci_address, "host": self.item.host},
                confirmed_on_screen=True,
                echo=lambda text, kind: check.update(f"✗ {text}") if kind == "error" else None)
            if result is not None and result.ok:
                self.dismiss(dict(result.outputs))
            elif result is not None:
                check.update(f"✗ {result.error}")

    def action_cancel(self) -> None:
        self.dismiss(None)
