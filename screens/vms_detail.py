"""A VM's detail: devices, addresses and its domain XML (from the audited read action
`vm.describe`; screens never call libvirt themselves)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from screens.actor import actor_of

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


def describe_text(data: dict[str, Any]) -> str:
    lines = [f"{data['vm']} on {data['host']} ({'running' if data['active'] else 'shut off'})", ""]
    lines.append("IP addresses: " + (", ".join(data.get("ips") or []) or "-"))
    lines.append("networks:     " + (", ".join(data.get("networks") or []) or "-"))
    lines.append("disks:        " + (", ".join(data.get("disks") or []) or "-"))
    lines.append("host devices:")
    for h in data.get("hostdevs") or []:
        extra = [f"guest {h['guest_address']}" if h.get("guest_address") else "",
                 "managed" if h.get("managed") else "unmanaged", "ROM BAR on" if h.get("rom_bar") else ""]
        lines.append(f"  {h['address']}  " + "  ".join(e for e in extra if e))
    if not data.get("hostdevs"):
        lines.append("  none")
    return "\n".join(lines)


class VmDetailScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "back"), Binding("r", "reload", "reload")]

    def __init__(self, runtime: "Runtime", item: Any) -> None:
        super().__init__()
        self.runtime = runtime
        self.item = item

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(f"{self.item.name}: loading…", id="summary")
            yield Static("", id="xml", markup=False)
        yield Footer()

    async def on_mount(self) -> None:
        await self.action_reload()

    async def action_reload(self) -> None:
        try:
            result = await self.runtime.dispatcher.invoke(
                "vm.describe", {"name": self.item.name, "host": self.item.host}, actor=actor_of(self), confirmed=True)
        except Exception as exc:  # a broken backend must not break the screen
            self.query_one("#summary", Static).update(f"{self.item.name}: {exc}")
            return
        if not result.ok:
            self.query_one("#summary", Static).update(f"{self.item.name}: {result.error}")
            return
        self.query_one("#summary", Static).update(describe_text(result.result))
        self.query_one("#xml", Static).update(result.result["xml"])
