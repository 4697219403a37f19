"""Row rendering per source (k9s' render/): which columns a pane shows and how a cell reads.

One module per source in this package (`screens/render/<source>.py`) defines `COLUMNS`.
Used by the Textual panes and by `cockpit snapshot --format table`; imports no Textual.
A source without a module falls back to the first fields of its items.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from cockpit.snapshot import to_jsonable


@dataclass(frozen=True)
class Column:
    title: str
    get: Callable[[Any], Any]
    width: int | None = None

    def cell(self, item: Any) -> str:
        try:
            value = self.get(item)
        except (AttributeError, KeyError, TypeError):
            return ""
        return fmt(value)


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
    if not items:
        return [Column("ITEM", lambda i: i)]
    first = to_jsonable(items[0])
    names = list(first)[:7] if isinstance(first, dict) else ["value"]
    return [Column(n.upper(), (lambda n: lambda i: to_jsonable(i).get(n))(n)) for n in names]
