"""Row rendering per source (k9s' render/): the typed column spec of each pane.

One module per source in this package (`screens/render/<source>.py`) defines `COLUMNS` (each with
its width, priority and value sort key), and may define `ROW_STYLE` (state colour rules),
`FILTER_FIELDS` (a cockpit.filtering.Fields), `DEFAULT_SORT` (a column title), `ROW_ACTIONS` and
`DETAIL_SCREEN`. Used by the Textual panes and by `cockpit snapshot --format table`; imports no
Textual. A source without a module falls back to the first fields of its items.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any, Callable

from cockpit.filtering import Fields, fields_from_columns
from cockpit.snapshot import to_jsonable
from cockpit.values import MISSING, sort_key
from screens.render.colours import RowStyle


@dataclass(frozen=True)
class Column:
    """One column: `get` reads the value, `render` turns it into the cell (default `fmt`),
    `sort` gives the value it sorts by (default: the value itself, never the rendered text),
    `width` caps the cell, and when the table is too narrow the columns with the lowest
    `priority` are hidden first (0 by default; the key and state columns rank higher)."""

    title: str
    get: Callable[[Any], Any]
    width: int | None = None
    render: Callable[[Any], str] | None = None
    sort: Callable[[Any], Any] | None = None
    priority: int = 0

    def value(self, item: Any) -> Any:
        try:
            return self.get(item)
        except (AttributeError, KeyError, TypeError):
            return None

    def cell(self, item: Any) -> str:
        value = self.value(item)
        if self.render is not None:
            try:
                return self.render(value)
            except (AttributeError, KeyError, TypeError, ValueError):
                return fmt(value)
        return fmt(value)

    def sort_key(self, item: Any) -> tuple:
        """The key rows sort by in this column: a value key (numbers as numbers, missing last)."""
        if self.sort is not None:
            try:
                key = self.sort(item)
            except (AttributeError, KeyError, TypeError):
                return MISSING
            return key if isinstance(key, tuple) else sort_key(key)
        return sort_key(self.value(item))


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, (list, tuple)):
        return ",".join(fmt(v) for v in value) or "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={fmt(v)}" for k, v in value.items()) or "-"
    return str(value)


def sort_items(column: Column, items: list[Any], descending: bool = False) -> list[Any]:
    """Items by one column's value key; rows without a value last in either direction."""
    keyed = [(column.sort_key(item), item) for item in items]
    present = [pair for pair in keyed if pair[0] != MISSING]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [item for _, item in present] + [item for key, item in keyed if key == MISSING]


def bar(fraction: float | None, width: int = 10) -> str:
    """A text bar for utilization and capacity: '█████░░░░░ 50%'."""
    if fraction is None:
        return "-"
    fraction = max(0.0, min(1.0, fraction))
    full = round(fraction * width)
    return "█" * full + "░" * (width - full) + f" {fraction * 100:3.0f}%"


def attr(name: str) -> Callable[[Any], Any]:
    def get(item: Any) -> Any:
        if isinstance(item, dict):
            return item.get(name)
        return getattr(item, name)

    return get


def columns_for(source: str, items: list[Any]) -> list[Column]:
    try:
        module = importlib.import_module(f"screens.render.{source}")
        return list(module.COLUMNS)
    except ImportError:
        pass
    return _generic_columns(items)


_GENERIC_ITEM = [Column("ITEM", lambda i: i)]


def _generic_columns(items: list[Any]) -> list[Column]:
    """The first fields of the items, one column each; the same Column objects for the same
    names, so a table's per-row cache survives updates."""
    if not items:
        return _GENERIC_ITEM
    first = to_jsonable(items[0])
    names = tuple(list(first)[:7]) if isinstance(first, dict) else ("value",)
    return _generic_memo(names)


@functools.lru_cache(maxsize=64)
def _generic_memo(names: tuple[str, ...]) -> list[Column]:
    return [Column(n.upper(), _field_getter(n)) for n in names]


def _field_getter(name: str) -> Callable[[Any], Any]:
    return lambda item: to_jsonable(item).get(name)


@dataclass(frozen=True)
class TableSpec:
    """How one table of a pane is drawn and what its rows offer. A render module describes its
    primary table with COLUMNS / ROW_ACTIONS / DETAIL_SCREEN / ROW_STYLE / FILTER_FIELDS /
    DEFAULT_SORT (and optionally columns_for_snapshot(snapshot)), and extra tables for snapshot
    sections with SECTIONS = {name: {"columns", "actions", "detail_screen", "title", "row_style",
    "filter_fields", "default_sort"}}."""

    columns: list[Column]
    actions: tuple[Any, ...] = ()  # (key, action name, label, params_from_item)
    detail_screen: str | None = None  # "module:Class", built with (runtime, item)
    title: str | None = None
    screens: tuple[Any, ...] = ()  # (key, "module:Class", label): screens built with (runtime, item)
    row_style: RowStyle | None = None  # state colour rules
    filter_fields: Fields | None = None  # None: one field per column
    default_sort: str | None = None  # the title of the column rows sort by until the user picks one

    def fields(self) -> Fields:
        return self.filter_fields if self.filter_fields is not None else fields_from_columns(self.columns)


def render_module(source: str) -> Any:
    try:
        return importlib.import_module(f"screens.render.{source}")
    except ImportError:
        return None


def table_spec(source: str, section: str | None = None, snapshot: Any = None, items: list[Any] | None = None) -> TableSpec:
    module = render_module(source)
    items = items or []
    if section is None:
        if module is not None and hasattr(module, "columns_for_snapshot") and snapshot is not None:
            columns = list(module.columns_for_snapshot(snapshot))
        else:
            columns = columns_for(source, items)
        return TableSpec(columns=columns, actions=tuple(getattr(module, "ROW_ACTIONS", ())),
                         detail_screen=getattr(module, "DETAIL_SCREEN", None),
                         screens=tuple(getattr(module, "ROW_SCREENS", ())),
                         row_style=getattr(module, "ROW_STYLE", None),
                         filter_fields=getattr(module, "FILTER_FIELDS", None),
                         default_sort=getattr(module, "DEFAULT_SORT", None))
    spec = dict(getattr(module, "SECTIONS", {}).get(section, {})) if module is not None else {}
    declared: list[Column] | None = spec.get("columns")
    return TableSpec(columns=declared if declared is not None else _generic_columns(items),
                     actions=tuple(spec.get("actions", ())),
                     detail_screen=spec.get("detail_screen"), title=spec.get("title"),
                     row_style=spec.get("row_style"), filter_fields=spec.get("filter_fields"),
                     default_sort=spec.get("default_sort"))


def section_items(section_value: Any) -> dict[str, Any]:
    """A snapshot section (a list of items) keyed like primary items: key(), else name/id."""
    out: dict[str, Any] = {}
    if not isinstance(section_value, (list, tuple)):
        return out
    for index, item in enumerate(section_value):
        key = None
        if hasattr(item, "key"):
            try:
                key = item.key()
            except Exception:
                key = None
        if key is None:
            data = to_jsonable(item)
            key = str(data.get("id") or data.get("name") or index) if isinstance(data, dict) else str(index)
        out[str(key)] = item
    return out
