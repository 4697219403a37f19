"""A virtual table: draws only the rows on screen, so a 10,000-job queue or 5,000 pods cost a
frame what 40 rows do. Textual's DataTable keeps a widget-side row model whose fill and removals
grow with the row count (10,000 rows took 4.5 s to fill here); this one holds plain tuples of
cell text and renders lines on demand (Line API).

It also draws what the pane spec decides: a style per row (state colours), an arrow on the
sorted column, and, when the table is narrower than its columns, hides the columns with the
lowest priority first (the id, state and reason stay). Clicking a header asks to sort by it."""

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
NARROWEST = 40  # a column is narrowed down to this before a more important one is hidden
NARROWEST_LAST = 8  # ... and down to this before it is hidden itself


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

    class HeaderSelected(Message):
        """A header was clicked: `column` is the index into the table's full column list."""

        def __init__(self, table: "VirtualTable", column: int) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> "VirtualTable":
            return self.table

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
        self.row_styles: dict[str, str] = {}
        self.priorities: tuple[int, ...] = ()
        self.sort_column: int | None = None  # index into titles
        self.sort_descending = False
        self.shown: tuple[int, ...] = ()  # indexes of the columns drawn, in order
        self._line_cache: dict[tuple[str, int], list[Segment]] = {}
        self._styles: dict[str, Style] = {}
        self._narrowed: dict[int, int] = {}
        self._layout: tuple = ()
        # What _fit_columns makes of no columns and no rows: set now, the first resize of an
        # empty table (every table on the first frame) changes nothing and lays nothing out again.
        self.set_reactive(VirtualTable.virtual_size, Size(1, 1))

    # -- data -----------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.keys)

    def set_data(self, titles: Sequence[str], widths: Sequence[int], keys: list[str],
                 cells: dict[str, tuple[str, ...]], keep_key: str | None = None,
                 row_styles: dict[str, str] | None = None, priorities: Sequence[int] | None = None,
                 sort_column: int | None = None, descending: bool = False,
                 changed: Sequence[str] | None = None) -> None:
        """Replace what is shown; the cursor stays on keep_key when it is still there.
        `changed`: when only these keys' cells changed (same keys in the same order, same columns),
        only their drawn lines are dropped from the cache."""
        layout = (tuple(titles), tuple(widths), sort_column, descending)
        same_rows = changed is not None and keys is self.keys and layout == self._layout
        self.titles, self.widths = layout[0], layout[1]
        self.keys, self.cells = keys, cells
        self.row_styles = row_styles or {}
        self.priorities = tuple(priorities) if priorities is not None else (0,) * len(self.titles)
        self.sort_column, self.sort_descending = sort_column, descending
        self._layout = layout
        if same_rows:
            self.update_rows(changed or ())
            return
        self._line_cache.clear()
        self._fit_columns()
        row = self.cursor_row
        if keep_key is not None:
            try:
                row = keys.index(keep_key) if keys and keys[min(row, len(keys) - 1)] != keep_key else row
            except ValueError:
                pass
        self.cursor_column = min(self.cursor_column, max(len(self.shown) - 1, 0))
        self.cursor_row = max(0, min(row, len(keys) - 1))
        self.refresh()

    def _header(self, index: int) -> str:
        title = self.titles[index]
        if index == self.sort_column:
            title += " ▼" if self.sort_descending else " ▲"
        return title

    def _column_width(self, index: int) -> int:
        narrowed = self._narrowed.get(index)
        return narrowed if narrowed is not None else max(self.widths[index], len(self._header(index)))

    def _fit_columns(self) -> None:
        """Make the columns fit the width: hide the lowest-priority ones first (rightmost among
        equals); before hiding one that matters (priority > 0), narrow the widest shown column
        instead when that is enough (the SLURM reason column gets cut with '…', not hidden)."""
        self._narrowed = {}
        shown = list(range(len(self.titles)))
        available = self.size.width
        if len(self.keys) + 1 > self.size.height:  # a vertical scrollbar will take its share
            available -= self.styles.scrollbar_size_vertical

        def total(cols: list[int]) -> int:
            return sum(self._column_width(i) + GAP for i in cols) + 1

        def priority(i: int) -> int:
            return self.priorities[i] if i < len(self.priorities) else 0

        if available > 0:
            for index in sorted(shown, key=lambda i: (priority(i), -i)):
                excess = total(shown) - available
                if excess <= 0 or len(shown) <= 1:
                    break
                if priority(index) > 0:
                    widest = max(shown, key=self._column_width)
                    room = self._column_width(widest) - excess
                    # Narrow the widest column if it keeps NARROWEST characters, or, when it is the
                    # one about to go, as long as anything readable is left of it.
                    if room >= NARROWEST or (index == widest and room >= NARROWEST_LAST):
                        self._narrowed[widest] = room
                        break
                shown.remove(index)
        self.shown = tuple(shown)
        width = sum(self._column_width(i) + GAP for i in self.shown) + 1
        self.virtual_size = Size(width, len(self.keys) + 1)

    def on_resize(self) -> None:
        before = self.shown
        self._fit_columns()
        if self.shown != before:
            self._line_cache.clear()
            self.cursor_column = min(self.cursor_column, max(len(self.shown) - 1, 0))
            self.refresh()

    def cursor_column_index(self) -> int:
        """The cursor's column as an index into `titles` (hidden columns count)."""
        if not self.shown:
            return 0
        return self.shown[min(self.cursor_column, len(self.shown) - 1)]

    def update_rows(self, changed: Sequence[str]) -> None:
        """Cells of some keys changed in place: redraw only the lines of those on screen."""
        if not changed:
            return
        top = int(self.scroll_offset.y)
        on_screen = {key: row for row, key in enumerate(self.keys[top: top + self.size.height], start=1)}
        for key in changed:
            self._line_cache.pop((key, 0), None)
            self._line_cache.pop((key, 1), None)
            if key in on_screen:
                self.refresh_line(top + on_screen[key])  # virtual y: refresh_line subtracts the scroll

    def selected_key(self) -> str | None:
        return self.keys[self.cursor_row] if self.keys and 0 <= self.cursor_row < len(self.keys) else None

    def get_row_at(self, index: int) -> list[str]:
        return list(self.cells[self.keys[index]])

    # -- movement -------------------------------------------------------------------------------
    def _visible_rows(self) -> int:
        """Rows below the header that are not under a horizontal scrollbar."""
        return max(1, self.scrollable_content_region.height - 1)

    def watch_cursor_row(self, row: int) -> None:
        self._scroll_to_cursor()
        # Again once the layout is settled: right after new data the scrollbars (and so the room
        # for rows) may not be known yet, and the cursor must never end up under one.
        self.call_after_refresh(self._scroll_to_cursor)
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        row = self.cursor_row
        top = int(self.scroll_offset.y)
        rows = self._visible_rows()
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + rows:
            self.scroll_to(y=row - rows + 1, animate=False)

    def watch_cursor_column(self, column: int) -> None:
        if not self.shown or column >= len(self.shown):
            return
        start = sum(self._column_width(i) + GAP for i in self.shown[:column])
        end = start + self._column_width(self.shown[column]) + GAP
        left = int(self.scroll_offset.x)
        if start < left:
            self.scroll_to(x=start, animate=False)
        elif end > left + self.scrollable_content_region.width:  # not under the vertical scrollbar
            self.scroll_to(x=end - self.scrollable_content_region.width, animate=False)
        self.refresh()

    def select_key(self, key: str) -> bool:
        """Put the cursor on the row of `key`; False when no such row is shown (gone, filtered)."""
        try:
            row = self.keys.index(key)
        except ValueError:
            return False
        self.move_cursor(row)
        return True

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
        if self.shown:
            self.cursor_column = max(0, min(self.cursor_column + delta, len(self.shown) - 1))

    def action_select(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def column_at(self, x: int) -> int | None:
        """The shown-column position under screen column x of this widget (None: in a gap)."""
        position = int(self.scroll_offset.x) + x - 1
        for shown_index, index in enumerate(self.shown):
            width = self._column_width(index)
            if 0 <= position < width + GAP:
                return shown_index
            position -= width + GAP
        return None

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self.column_at(event.x)
            if column is not None:
                self.cursor_column = column
                self.post_message(self.HeaderSelected(self, self.shown[column]))
            return
        row = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.keys):
            self.cursor_row = row
            if event.chain >= 2:
                self.action_select()

    # -- drawing --------------------------------------------------------------------------------
    def _style(self, key: str) -> Style | None:
        name = self.row_styles.get(key)
        if not name:
            return None
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = Style.parse(name)
        return style

    def _segments(self, values: Sequence[str], style: Style, header: bool = False) -> list[Segment]:
        parts: list[Segment] = [Segment(" ", style)]
        for position, index in enumerate(self.shown):
            value = self._header(index) if header else (values[index] if index < len(values) else "")
            width = self._column_width(index)
            text = value if len(value) <= width else value[: max(width - 1, 0)] + "…"
            cell_style = style
            if header and position == self.cursor_column and self.has_focus:
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
            row_style = self._style(key)
            if index == self.cursor_row:
                style = base + row_style if row_style is not None else base
                segments = self._segments(self.cells[key], style + self.get_component_rich_style("vtable--cursor"))
            else:
                zebra = index % 2
                cached = self._line_cache.get((key, zebra))
                if cached is not None:
                    segments = cached
                else:
                    style = base + self.get_component_rich_style("vtable--zebra") if zebra else base
                    if row_style is not None:
                        style = style + row_style
                    segments = self._line_cache[(key, zebra)] = self._segments(self.cells[key], style)
        strip = Strip(segments).crop(int(scroll_x), int(scroll_x) + width)
        return strip.extend_cell_length(width, base)
