"""A virtual table: draws only the rows on screen, so a 10,000-job queue or 5,000 pods cost a
frame what 40 rows do. Textual's DataTable keeps a widget-side row model whose fill and removals
grow with the row count (10,000 rows took 4.5 s to fill here); this one holds plain tuples of
cell text and renders lines on demand (Line API)."""

from __future__ import annotations

from typing import Sequence

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 2


class VirtualTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"vtable--header", "vtable--header-cursor", "vtable--cursor", "vtable--zebra"}
    DEFAULT_CSS = """
    VirtualTable { height: 1fr; background: $surface; }
    VirtualTable > .vtable--header { text-style: bold; background: $panel; }
    VirtualTable > .vtable--header-cursor { text-style: bold underline; background: $panel; }
    VirtualTable > .vtable--zebra { background: $surface-lighten-1; }
    VirtualTable > .vtable--cursor { background: $secondary 50%; }
    VirtualTable:focus > .vtable--cursor { background: $accent; color: $text; text-style: bold; }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "jump(0)", "first", show=False),
        Binding("end", "jump(-1)", "last", show=False),
        Binding("left", "column(-1)", "column left", show=False),
        Binding("right", "column(1)", "column right", show=False),
        Binding("enter", "select", "detail", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)
    cursor_column: reactive[int] = reactive(0)

    class RowSelected(Message):
        def __init__(self, table: "VirtualTable", key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> "VirtualTable":
            return self.table

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.titles: tuple[str, ...] = ()
        self.widths: tuple[int, ...] = ()
        self.keys: list[str] = []
        self.cells: dict[str, tuple[str, ...]] = {}
        self._line_cache: dict[tuple[str, int], list[Segment]] = {}

    # -- data -----------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.keys)

    def set_data(self, titles: Sequence[str], widths: Sequence[int], keys: list[str],
                 cells: dict[str, tuple[str, ...]], keep_key: str | None = None) -> None:
        """Replace what is shown; the cursor stays on keep_key when it is still there."""
        self.titles, self.widths = tuple(titles), tuple(widths)
        self.keys, self.cells = keys, cells
        self._line_cache.clear()
        total = sum(self.widths) + GAP * len(self.widths) + 1
        self.virtual_size = Size(total, len(keys) + 1)
        row = self.cursor_row
        if keep_key is not None:
            try:
                row = keys.index(keep_key) if keys and keys[min(row, len(keys) - 1)] != keep_key else row
            except ValueError:
                pass
        self.cursor_column = min(self.cursor_column, max(len(self.titles) - 1, 0))
        self.cursor_row = max(0, min(row, len(keys) - 1))
        self.refresh()

    def update_rows(self, changed: Sequence[str]) -> None:
        """Cells of some keys changed in place: redraw them only if they are on screen."""
        for key in changed:
            self._line_cache.pop((key, 0), None)
            self._line_cache.pop((key, 1), None)
        self.refresh()

    def selected_key(self) -> str | None:
        return self.keys[self.cursor_row] if self.keys and 0 <= self.cursor_row < len(self.keys) else None

    def get_row_at(self, index: int) -> list[str]:
        return list(self.cells[self.keys[index]])

    # -- movement -------------------------------------------------------------------------------
    def _visible_rows(self) -> int:
        # Rows between the header and a horizontal scrollbar: `size` includes the scrollbar, so
        # counting with it put the last row (and the cursor after End) under the bar.
        return max(1, self.scrollable_content_region.height - 1)

    def watch_cursor_row(self, row: int) -> None:
        top = int(self.scroll_offset.y)
        rows = self._visible_rows()
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + rows:
            self.scroll_to(y=row - rows + 1, animate=False)
        self.refresh()

    def watch_cursor_column(self, column: int) -> None:
        if not self.widths:
            return
        start = sum(self.widths[:column]) + GAP * column
        end = start + self.widths[column] + GAP
        left = int(self.scroll_offset.x)
        if start < left:
            self.scroll_to(x=start, animate=False)
        elif end > left + self.scrollable_content_region.width:
            self.scroll_to(x=end - self.scrollable_content_region.width, animate=False)
        self.refresh()

    def move_cursor(self, row: int) -> None:
        if self.keys:
            self.cursor_row = max(0, min(row, len(self.keys) - 1))

    def action_move(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * self._visible_rows())

    def action_jump(self, where: int) -> None:
        self.move_cursor(0 if where == 0 else len(self.keys) - 1)

    def action_column(self, delta: int) -> None:
        if self.titles:
            self.cursor_column = max(0, min(self.cursor_column + delta, len(self.titles) - 1))

    def action_select(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.keys):
            self.cursor_row = row
            if event.chain >= 2:
                self.action_select()

    # -- drawing --------------------------------------------------------------------------------
    def _segments(self, values: Sequence[str], style: Style, header: bool = False) -> list[Segment]:
        parts: list[Segment] = [Segment(" ", style)]
        for index, (value, width) in enumerate(zip(values, self.widths)):
            text = value if len(value) <= width else value[: max(width - 1, 0)] + "…"
            cell_style = style
            if header and index == self.cursor_column and self.has_focus:
                cell_style = self.get_component_rich_style("vtable--header-cursor")
            parts.append(Segment(text.ljust(width), cell_style))
            parts.append(Segment(" " * GAP, style))
        return parts

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            segments = self._segments(self.titles, base + self.get_component_rich_style("vtable--header"), header=True)
        else:
            index = int(scroll_y) + y - 1
            if index >= len(self.keys):
                return Strip.blank(width, base)
            key = self.keys[index]
            if index == self.cursor_row:
                segments = self._segments(self.cells[key], base + self.get_component_rich_style("vtable--cursor"))
            else:
                zebra = index % 2
                segments = self._line_cache.get((key, zebra))
                if segments is None:
                    style = base + self.get_component_rich_style("vtable--zebra") if zebra else base
                    segments = self._line_cache[(key, zebra)] = self._segments(self.cells[key], style)
        strip = Strip(segments).crop(int(scroll_x), int(scroll_x) + width)
        return strip.extend_cell_length(width, base)
