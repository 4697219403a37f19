"""Where a message goes: the visible message area, else a toast (never a hidden area)."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from screens.messages import MessageArea, say


class WithArea(Screen):
    def compose(self):
        yield Static("body")
        yield MessageArea(id="message")
        yield Footer()


class Full(Screen):
    def compose(self):
        yield Static("a full screen without a message area")


class Modal(ModalScreen):
    def compose(self):
        yield Static("a modal")


async def test_messages_go_to_the_visible_area_or_a_toast():
    base = WithArea()

    class Host(App):
        def on_mount(self):
            self.push_screen(base)

    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        area = base.query_one(MessageArea)
        assert area.kind == "hint" and "ctrl+p" in area.text
        say(app, "vm.start failed: domain not found", "error")
        assert area.kind == "error" and area.has_class("error") and "domain not found" in area.text
        app.push_screen(Modal())  # under a modal the area stays visible: it is used
        await pilot.pause()
        say(app, "cancelled")
        assert area.text == "cancelled" and not app._notifications
        app.pop_screen()
        app.push_screen(Full())  # a full screen hides the area: a toast instead
        await pilot.pause()
        say(app, "refresh: nothing configured", "warning")
        await pilot.pause()
        assert area.text == "cancelled"
        assert [n.message for n in app._notifications] == ["refresh: nothing configured"]
        with pytest.raises(ValueError):
            area.say("x", "loud")
