"""CachedRenderable draws what its renderable draws, laying it out once per width."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from cockpit.commands import help_rows
from screens.cached_renderable import CachedRenderable
from screens.modals import help_table


def printed(renderable, width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system="truecolor")
    console.print(renderable)
    return console.export_text(styles=True)


class Counting:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.renders = 0

    def __rich_console__(self, console, options):
        self.renders += 1
        yield self.inner


def sample_table() -> Table:
    table = Table(box=None, show_header=True, header_style="bold")
    for name in ("group", "key", "what it does"):
        table.add_column(name)
    for group, key, text in help_rows():
        table.add_row(group, key, text)
    return table


def test_same_picture_as_the_renderable_at_each_width():
    for width in (40, 84, 200):
        assert printed(CachedRenderable(sample_table()), width) == printed(sample_table(), width)


def test_laid_out_once_per_width():
    counting = Counting(sample_table())
    cached = CachedRenderable(counting)
    first = printed(cached, 84)
    assert printed(cached, 84) == first and printed(cached, 84) == first
    assert counting.renders == 1
    narrow = printed(cached, 50)
    assert counting.renders == 2 and narrow != first
    assert printed(cached, 50) == narrow and counting.renders == 2


def test_help_table_is_shared_per_set_of_rows():
    rows = tuple(help_rows())
    assert help_table(rows) is help_table(tuple(help_rows()))
    other = tuple(help_rows({"quit": "ctrl+q"}))
    assert other != rows and help_table(other) is not help_table(rows)
