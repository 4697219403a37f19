"""A bare Textual app that opens one screen: for testing a screen outside the dashboard."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen


class Host(App[None]):
    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)
