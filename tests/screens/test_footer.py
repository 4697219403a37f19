"""The dashboard's Footer: redrawn when the keys it shows change, not on every bindings signal."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button

from screens.footer import Footer
from tests.screens.host_app import Host


class KeysScreen(Screen[None]):
    BINDINGS = [Binding("x", "explode", "Explode"), Binding("y", "yank", "Yank")]
    hide_yank = False

    def compose(self):
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "yank" and self.hide_yank)

    def action_explode(self) -> None: ...

    def action_yank(self) -> None: ...


def shown(app: App[None]) -> list[str]:
    return [key.description for key in app.screen.query("FooterKey")]


async def test_footer_recomposes_only_when_its_keys_change():
    screen = KeysScreen()
    app = Host(screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        footer = screen.query_one(Footer)
        assert "Explode" in shown(app) and "Yank" in shown(app)
        composed = []
        real = footer.recompose

        async def counting():
            composed.append(1)
            await real()

        footer.recompose = counting  # type: ignore[method-assign]
        for _ in range(5):  # same keys: nothing to redraw
            screen.refresh_bindings()
        screen.query_one("#two", Button).focus()
        await pilot.pause()
        await pilot.pause()
        assert composed == []
        assert "Yank" in shown(app)

        screen.hide_yank = True  # the keys change: one recompose, however many signals
        for _ in range(5):
            screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert composed == [1]
        assert "Explode" in shown(app) and "Yank" not in shown(app)
