"""The virtual table's drawing rules: nothing under a scrollbar, columns fitted by priority."""

from __future__ import annotations

from textual.app import App

from screens.virtual_table import VirtualTable


class TableApp(App):
    def compose(self):
        yield VirtualTable(id="t")


KEYS = [str(i) for i in range(30)]


async def test_end_shows_the_last_row_above_a_horizontal_scrollbar() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_data(["ONE WIDE COLUMN"], [100], KEYS, {k: (f"row {k}",) for k in KEYS})
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.show_horizontal_scrollbar and table.cursor_row == 29
        visible = table.scrollable_content_region.height  # lines not under the scrollbar
        lines = ["".join(seg.text for seg in table.render_line(y)) for y in range(visible)]
        assert lines[-1].strip() == "row 29"


async def test_columns_hide_by_priority_and_come_back_when_wider() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_data(["ID", "EXTRA", "STATE"], [6, 20, 8], KEYS, {k: (k, "x" * 20, "RUNNING") for k in KEYS},
                       priorities=[10, -1, 9])
        await pilot.pause()
        assert [table.titles[i] for i in table.shown] == ["ID", "STATE"]
        await pilot.resize_terminal(80, 12)
        await pilot.pause()
        assert [table.titles[i] for i in table.shown] == ["ID", "EXTRA", "STATE"]
