"""The message area: one line (up to three for a long error) just above the footer, on every
screen that has a footer, as k9s's flash line. Errors, refusals, results and hints all go here.

`say(node, text, kind)` finds the area of the screen the user is looking at (under any modal);
screens without one fall back to a toast, so nothing said is ever lost.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

KINDS = ("hint", "info", "result", "warning", "error")
DEFAULT_HINT = "ctrl+p: every command, pane, action and plan    ?: all keys"
# Info and results fall back to the hint after a while; errors and warnings stay until replaced
# or cleared with Escape: a failure must not vanish before it is read.
FADE_S = {"info": 8.0, "result": 15.0}


class MessageArea(Static):
    DEFAULT_CSS = """
    MessageArea { height: auto; max-height: 3; padding: 0 1; background: $boost; color: $text-muted; }
    MessageArea.hint { text-wrap: nowrap; text-overflow: ellipsis; }
    MessageArea.info { color: $text; }
    MessageArea.result { color: $success; }
    MessageArea.warning { color: $warning; }
    MessageArea.error { color: $error; text-style: bold; }
    """

    def __init__(self, hint: str = DEFAULT_HINT, **kwargs: Any) -> None:
        super().__init__(hint, classes="hint", **kwargs)
        self.hint = hint
        self.text = hint
        self.kind = "hint"
        self._fade: Any = None

    def say(self, text: str, kind: str = "info") -> None:
        if kind not in KINDS:
            raise ValueError(f"message kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not text:
            text, kind = self.hint, "hint"
        self.text, self.kind = text, kind
        for name in KINDS:
            self.set_class(name == kind, name)
        prefix = {"error": "✗ ", "warning": "! ", "result": "✓ "}.get(kind, "")
        self.update(Text(prefix + text))
        if self._fade is not None:
            self._fade.stop()
            self._fade = None
        if kind in FADE_S and self.is_mounted:
            self._fade = self.set_timer(FADE_S[kind], self.clear)

    def clear(self) -> None:
        self.say("")


def message_area_of(app: Any) -> MessageArea | None:
    """The area the user can see: the top screen's, or under modals the first full screen's.
    A full screen without one hides the dashboard's: then None (the caller shows a toast)."""
    from textual.screen import ModalScreen

    for screen in reversed(getattr(app, "screen_stack", [])):
        found = list(screen.query(MessageArea))
        if found:
            return found[0]
        if not isinstance(screen, ModalScreen):
            return None
    return None


def say(node: Any, text: str, kind: str = "info") -> None:
    app = getattr(node, "app", node)
    area = message_area_of(app)
    if area is not None:
        area.say(text, kind)
    elif text:
        app.notify(text, severity={"error": "error", "warning": "warning"}.get(kind, "information"))
