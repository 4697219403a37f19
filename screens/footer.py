"""Textual's Footer, recomposed only when the keys it shows change.

Textual's Footer schedules a full recompose (unmount every key, mount new ones, restyle them) on
every `bindings_updated` signal, and a screen sends several while it mounts (each screen-stack
change, focus, every table adding its row keys): six recomposes of nine keys before the
dashboard's first frame, one more on every focus change afterwards, and two for each modal
opened over the screen (its `:` and `/` keys go off and on again). This one keeps at most one
recompose pending, skips it when the bindings it would show are the ones on screen, and leaves a
covered screen's footer alone until that screen is on top again.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    _pending = False
    _shown: Any = None  # the signature of the keys composed last

    def _signature(self) -> Any:
        """Everything Footer.compose reads from the bindings, as a comparable value."""
        app = self.app
        keys = tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action, enabled, tooltip,
             binding.tooltip, binding.group)
            for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values() if binding.show)
        palette = app.COMMAND_PALETTE_BINDING if self.show_command_palette and app.ENABLE_COMMAND_PALETTE else None
        return keys, palette, self.compact

    def compose(self) -> Any:
        if self._bindings_ready:
            self._shown = self._signature()
        return super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        # A screen under a modal (help, a menu) is not redrawn for bindings that hold only while it
        # is covered: when it is on top again, Textual signals its bindings once more.
        if self.is_attached and self.screen is self.app.screen and self._signature() != self._shown:
            await self.recompose()
