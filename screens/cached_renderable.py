"""A rich renderable drawn once per width and replayed after that.

Textual draws a rich renderable in a Static twice per layout (once to learn its height, once for
its lines), and again on every screen that shows it. For a large renderable that never changes,
such as the help table (rich measures every cell of every column each time), that is most of the
cost of opening the screen: over SSH, `?` took about 240 ms at the 95th percentile. This wrapper
keeps the rendered lines per set of render options, so the table is laid out once per width in
the process, however often the help is opened and by however many SSH viewers.

Only for renderables that do not change once made: nothing here notices a change.
"""

from __future__ import annotations

from typing import Any, Iterator

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.segment import Segment


class CachedRenderable:
    def __init__(self, renderable: Any) -> None:
        self.renderable = renderable
        self._lines: dict[tuple[Any, ...], list[list[Segment]]] = {}
        self._measures: dict[tuple[Any, ...], Measurement] = {}

    @staticmethod
    def _key(options: ConsoleOptions) -> tuple[Any, ...]:
        return (options.min_width, options.max_width, options.height, options.justify, options.overflow,
                options.no_wrap, options.markup, options.highlight)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        key = self._key(options)
        if key not in self._measures:
            self._measures[key] = Measurement.get(console, options, self.renderable)
        return self._measures[key]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        key = self._key(options)
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = console.render_lines(self.renderable, options, pad=False, new_lines=True)
        for line in lines:
            yield from line
