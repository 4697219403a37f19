"""A Textual driver that draws into an SSH session's PTY instead of the local terminal.

Many of these run in one process and one event loop: each SSH viewer gets its own App and
driver, while all of them read the same hub. Input bytes from the channel go through Textual's
own xterm parser; window changes become Resize events.

A lone Escape is ambiguous until the next byte or a timeout: the parser holds it and waits for
`tick()` to say the timeout passed. Textual's local driver ticks from its input thread every
0.1 s; here nothing would tick, so a held Escape swallowed the keys after it. The driver schedules
one tick on the event loop just after the parser's escape delay whenever the parser is waiting.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import constants

from textual import events
from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.geometry import Size

# Bounds for what a client may claim as its window: a huge size must not make us allocate huge
# frames.
MAX_COLUMNS, MAX_ROWS = 500, 200


def clamp_size(width: int, height: int) -> tuple[int, int]:
    return max(10, min(int(width or 80), MAX_COLUMNS)), max(5, min(int(height or 24), MAX_ROWS))


class SshDriver(Driver):
    """Expects the app to carry `ssh_session` (see cockpit.sshserve.ViewerSession)."""

    def __init__(self, app: Any, *, debug: bool = False, mouse: bool = True, size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse and not getattr(app, "low_bandwidth", False), size=size)
        self.session = app.ssh_session
        self._parser = XTermParser(debug)
        self._started = False
        self._tick_handle: asyncio.TimerHandle | None = None
        self.session.driver = self

    # -- output -------------------------------------------------------------------------------
    def write(self, data: str) -> None:
        self.session.write(data)

    def flush(self) -> None:
        pass

    # -- input --------------------------------------------------------------------------------
    def feed(self, data: str) -> None:
        """Bytes typed by the viewer (already decoded)."""
        try:
            for event in self._parser.feed(data):
                self.process_message(event)
        except Exception:  # garbage on the channel must not take the session down
            self._parser = XTermParser(self._debug)
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        """Flush a held Escape once the parser's escape delay has passed with no byte after it."""
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        # Textual keeps the deadline private; if it is ever renamed, tick anyway (a no-op when
        # nothing is held) rather than hold an Escape forever.
        if hasattr(self._parser, "_timeout_time") and self._parser._timeout_time is None:
            return  # the parser waits for nothing: no timer needed
        loop = asyncio.get_running_loop()
        self._tick_handle = loop.call_later(constants.ESCAPE_DELAY + 0.005, self._tick)

    def _tick(self) -> None:
        self._tick_handle = None
        try:
            for event in self._parser.tick():
                self.process_message(event)
        except Exception:
            self._parser = XTermParser(self._debug)
        self._schedule_tick()  # a tick may leave the parser waiting again

    def resize(self, width: int, height: int) -> None:
        width, height = clamp_size(width, height)
        size = Size(width, height)
        self.send_message(events.Resize(size, size))

    def send_message(self, message: Any) -> None:
        # Same loop: post directly instead of crossing threads.
        asyncio.ensure_future(self._app._post_message(message))

    # -- modes --------------------------------------------------------------------------------
    def start_application_mode(self) -> None:
        self._started = True
        width, height = clamp_size(*self.session.size())
        self.write("\x1b[?1049h")  # alternate screen
        if self._mouse:
            self.write("\x1b[?1000h\x1b[?1003h\x1b[?1015h\x1b[?1006h")
        self.write("\x1b[?25l")  # hide cursor
        self.write("\x1b[?2004h")  # bracketed paste
        size = Size(width, height)
        self.send_message(events.Resize(size, size))

    def disable_input(self) -> None:
        self.session.input_enabled = False

    def stop_application_mode(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        if not self._started:
            return
        self._started = False
        if self._mouse:
            self.write("\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l")
        self.write("\x1b[?2004l\x1b[?25h\x1b[?1049l")
