"""Metric curves drawn with braille dots (2x4 dots per cell), no Textual, no extra package.

`braille_chart({"loss": [(step, value), ...]}, width=60, height=12)` returns rich Text: a y axis
with min/max labels, the curves (one colour each) and a step axis. Many points are reduced per
column (min and max both drawn), so a 100k-step history costs one pass.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from rich.text import Text

COLOURS = ("cyan", "magenta", "yellow", "green", "red", "blue")
# Braille dot bits for (x, y) inside one cell, x in 0..1, y in 0..3 from the top.
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def _finite(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def label(value: float) -> str:
    return f"{value:.4g}"


def braille_chart(series: Mapping[str, Sequence[tuple[float, float]]], width: int = 60, height: int = 10,
                  *, log_y: bool = False) -> Text:
    """The curves of several series on shared axes; an explicit line when there is nothing to draw."""
    data = {name: _finite(points) for name, points in series.items()}
    if log_y:
        data = {n: [(x, math.log10(y)) for x, y in pts if y > 0] for n, pts in data.items()}
    data = {n: pts for n, pts in data.items() if pts}
    if not data:
        return Text("(no points logged)", style="dim")
    width, height = max(8, width), max(2, height)
    xs = [x for pts in data.values() for x, _ in pts]
    ys = [y for pts in data.values() for _, y in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x1 == x0:
        x1 = x0 + 1
    cols, rows = width * 2, height * 4
    cells = [[0] * width for _ in range(height)]
    owner: list[list[int]] = [[-1] * width for _ in range(height)]
    for index, pts in enumerate(data.values()):
        prev: tuple[int, int] | None = None
        pixels = [(min(cols - 1, int((x - x0) / (x1 - x0) * (cols - 1) + 0.5)),
                   min(rows - 1, int((y1 - y) / (y1 - y0) * (rows - 1) + 0.5))) for x, y in pts]
        for cx, cy in _per_column(pixels) if len(pixels) > 2 * cols else pixels:
            for px, py in _segment(prev, (cx, cy)):
                cells[py // 4][px // 2] |= _DOTS[py % 4][px % 2]
                owner[py // 4][px // 2] = index
            prev = (cx, cy)
    top, bottom = (label(10 ** y1), label(10 ** y0)) if log_y else (label(y1), label(y0))
    pad = max(len(top), len(bottom))
    out = Text()
    for r in range(height):
        axis = top if r == 0 else bottom if r == height - 1 else ""
        out.append(f"{axis:>{pad}} ┤", style="dim")
        for c in range(width):
            bits = cells[r][c]
            out.append(chr(0x2800 + bits) if bits else " ",
                       style=COLOURS[owner[r][c] % len(COLOURS)] if bits else None)
        out.append("\n")
    left, right = label(x0), label(x1)
    out.append(" " * pad + " └" + "─" * width + "\n", style="dim")
    out.append(" " * (pad + 2) + left + " " * max(1, width - len(left) - len(right)) + right + "  step\n", style="dim")
    for index, name in enumerate(data):
        last = data[name][-1][1]
        shown = 10 ** last if log_y else last
        out.append("  ━ ", style=COLOURS[index % len(COLOURS)])
        out.append(f"{name} (last {label(shown)}, {len(data[name])} points)")
    return out


def _per_column(pixels: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each dot column's lowest and highest point: the envelope survives, the cost does not."""
    lo: dict[int, int] = {}
    hi: dict[int, int] = {}
    for cx, cy in pixels:
        lo[cx] = min(lo.get(cx, cy), cy)
        hi[cx] = max(hi.get(cx, cy), cy)
    out = []
    for cx in sorted(lo):
        out.append((cx, lo[cx]))
        if hi[cx] != lo[cx]:
            out.append((cx, hi[cx]))
    return out


def _segment(a: tuple[int, int] | None, b: tuple[int, int]) -> list[tuple[int, int]]:
    """Dots from a to b (Bresenham), so sparse points still read as a line."""
    if a is None:
        return [b]
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    out = []
    while True:
        out.append((x0, y0))
        if (x0, y0) == (x1, y1):
            return out
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def sparkline(values: Sequence[float], width: int = 20) -> str:
    """A one-line trend for table cells: ▁▂▃▄▅▆▇█ over the last `width` values."""
    bars = "▁▂▃▄▅▆▇█"
    vals = [v for v in values if math.isfinite(v)][-width:]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    return "".join(bars[min(7, int((v - lo) / span * 7 + 0.5))] for v in vals)
