"""Modal screens: confirmation, row detail, help, and the row-actions menu."""

from __future__ import annotations

import json
from typing import Any, Iterable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.commands import help_rows
from screens.cached_renderable import CachedRenderable
from cockpit.snapshot import to_jsonable

MODAL_CSS = """
ModalScreen { align: center middle; }
ModalScreen > Vertical { width: 90; max-width: 95%; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1 2; }
ModalScreen .title { text-style: bold; padding-bottom: 1; }
ModalScreen .danger-destroy { color: $error; text-style: bold; }
ModalScreen .danger-change { color: $warning; text-style: bold; }
ModalScreen .keys { color: $text-muted; padding-top: 1; }
"""


def modal_css(screen: str, extra: str = "") -> str:
    """MODAL_CSS for one modal class. Textual scopes a class's DEFAULT_CSS to that class (a rule
    not starting with its name is prefixed with it), so rules written for `ModalScreen` never
    matched: the modals drew unframed at the top left."""
    return MODAL_CSS.replace("ModalScreen", screen) + extra


class ConfirmScreen(ModalScreen[bool]):
    """Shows exactly what an action will do; y/enter confirms, n/escape cancels."""

    DEFAULT_CSS = modal_css("ConfirmScreen")
    BINDINGS = [Binding("y,enter", "answer(True)", "Confirm"), Binding("n,escape", "answer(False)", "Cancel")]

    def __init__(self, action_name: str, danger: str, text: str) -> None:
        super().__init__()
        self.action_name = action_name
        self.danger = danger
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Run {self.action_name}?", classes="title")
            yield Static(f"danger: {self.danger}", classes=f"danger-{self.danger}")
            yield Static(self.text, id="confirm-text")
            yield Static("y / enter: confirm    n / esc: cancel", classes="keys")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


def detail_renderable(item: Any, render_module: Any) -> Any:
    custom = getattr(render_module, "detail", None) if render_module else None
    if custom is not None:
        return custom(item)
    from rich.syntax import Syntax  # pygments: paid on the first detail view, not on the first help or menu

    return Syntax(json.dumps(to_jsonable(item), indent=2, default=str), "json", word_wrap=True, theme="ansi_dark")


class DetailScreen(ModalScreen[None]):
    DEFAULT_CSS = modal_css("DetailScreen", "DetailScreen > Vertical { width: 110; }")
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Back")]

    def __init__(self, title: str, renderable: Any) -> None:
        super().__init__()
        self.title_text = title
        self.renderable = renderable

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title")
            with VerticalScroll():
                yield Static(self.renderable, id="detail-body")
            yield Static("esc: back", classes="keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


# The help table of each set of rows (keymap and row actions), laid out once per width for the
# whole process: every `?` after the first, in any session, replays it.
_HELP_TABLES: dict[tuple[tuple[str, str, str], ...], CachedRenderable] = {}


def help_table(rows: tuple[tuple[str, str, str], ...]) -> CachedRenderable:
    cached = _HELP_TABLES.get(rows)
    if cached is None:
        table = Table(box=None, show_header=True, header_style="bold")
        table.add_column("group")
        table.add_column("key")
        table.add_column("what it does")
        for group, key, description in rows:
            table.add_row(group, key, description)
        if len(_HELP_TABLES) >= 16:  # keymaps differ per SSH key role at most: keep it bounded anyway
            _HELP_TABLES.clear()
        cached = _HELP_TABLES[rows] = CachedRenderable(table)
    return cached


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = modal_css("HelpScreen")
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Back")]

    def __init__(self, keymap: dict[str, str] | None = None, extra: Iterable[tuple[str, str, str]] = ()) -> None:
        super().__init__()
        self.keymap = keymap or {}
        self.extra = list(extra)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("AI-HOW Cockpit: keys", classes="title")
            with VerticalScroll():
                yield Static(help_table(tuple([*help_rows(self.keymap), *self.extra])), id="help-table")
            yield Static("esc: back", classes="keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class ActionMenu(ModalScreen[str | None]):
    """Pick one of the row's actions; returns the action name."""

    DEFAULT_CSS = modal_css("ActionMenu")
    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices  # (action name, label)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title")
            yield OptionList(*(Option(label, id=name) for name, label in self.choices), id="action-options")
            yield Static("enter: choose    esc: cancel", classes="keys")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ParamsForm(ModalScreen[dict | None]):
    """The parameters of one action as a form, prefilled (given values, then the selected row);
    enter on any field submits, esc cancels. Returns the filled values (empty fields left out, so
    the action's defaults apply)."""

    DEFAULT_CSS = modal_css("ParamsForm", """
    ParamsForm VerticalScroll { height: auto; max-height: 60vh; }
    ParamsForm .field-label { padding-top: 1; }
    ParamsForm Input { background: $boost; }
    ParamsForm #form-error { color: $error; }
    """)
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, action: Any, values: dict[str, Any], error: str = "") -> None:
        super().__init__()
        self.action = action
        self.values = values
        self.error = error

    def compose(self) -> ComposeResult:
        from textual.widgets import Input

        model = self.action.params
        with Vertical():
            yield Static(f"{self.action.name}: {self.action.title or ''}", classes="title")
            yield Static(self.error, id="form-error")
            with VerticalScroll():
                for name, field in model.model_fields.items():
                    required = "required" if field.is_required() else f"default {field.get_default(call_default_factory=True)!r}"
                    about = f" — {field.description}" if field.description else ""
                    yield Static(f"{name} ({required}){about}", classes="field-label")
                    value = self.values.get(name)
                    text = "" if value is None else (json.dumps(value) if isinstance(value, (dict, list)) else str(value))
                    yield Input(value=text, id=f"field-{name}", compact=True)
            yield Static("enter: run    esc: cancel", classes="keys")

    def on_mount(self) -> None:
        from textual.widgets import Input

        inputs = list(self.query(Input))
        empty = [i for i in inputs if not i.value]
        if inputs:
            (empty or inputs)[0].focus()

    def on_input_submitted(self, event: Any) -> None:
        from textual.widgets import Input

        from cockpit.params import TextParams

        # Text as typed: the action's model types it strictly (an id takes digits only, a dict
        # takes JSON) and the seam shows what it refused, back in this form.
        values = TextParams()
        for widget in self.query(Input):
            text = widget.value.strip()
            if text:
                values[(widget.id or "").removeprefix("field-")] = text
        event.stop()
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)
