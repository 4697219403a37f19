"""Pieces shared by the MLflow screens: a confirmation modal, running an action from a screen,
finding the adapter, and which metric columns the user chose."""

from __future__ import annotations

from typing import Any, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Static

from screens.render.mlflow import DEFAULT_METRICS


class ConfirmScreen(ModalScreen[bool]):
    """Shows the action's own confirmation text; y confirms, n / escape cancels."""

    BINDINGS = [("y", "answer(True)", "Yes"), ("n", "answer(False)", "No"), ("escape", "answer(False)", "Cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 80; height: auto; border: thick $warning; padding: 1 2; background: $surface; }
    ConfirmScreen Horizontal { height: auto; margin-top: 1; }
    """

    def __init__(self, title: str, text: str, danger: str) -> None:
        super().__init__()
        self.title_text, self.text, self.danger = title, text, danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.title_text}[/b]  ({self.danger})")
            yield Static(self.text, id="confirm-text")
            with Horizontal():
                yield Button("Yes (y)", variant="error" if self.danger == "destroy" else "warning", id="yes")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class PromptScreen(ModalScreen[str | None]):
    """One line of input (e.g. `champion 3` for an alias); escape cancels."""

    BINDINGS = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 70; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    """

    def __init__(self, question: str, placeholder: str = "") -> None:
        super().__init__()
        self.question, self.placeholder = question, placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            yield Input(placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def mlflow_adapter(runtime: Any) -> Any | None:
    """The MLflow source behind the pane, or None when it is unconfigured/broken."""
    try:
        source = runtime.adapter("mlflow")
    except KeyError:
        return None
    return source if hasattr(source, "runs_page") else None


def chosen_metrics(runtime: Any) -> Sequence[str]:
    settings = getattr(runtime.config.cockpit, "mlflow", None)
    return tuple(settings.metric_columns) if settings is not None and settings.metric_columns else DEFAULT_METRICS


async def run_action(screen: Screen[Any], runtime: Any, name: str, params: dict[str, Any]) -> Any | None:
    """Prepare, show the confirmation text, invoke (audited) as the TUI user; notify the outcome.
    Must run inside a worker (it waits for the modal)."""
    from cockpit.actions import ActionError, Danger
    from screens.actor import actor_of

    dispatcher = runtime.dispatcher
    try:
        prepared = dispatcher.prepare(name, params)
    except ActionError as exc:
        screen.notify(str(exc), severity="error")
        return None
    action = prepared.action
    if action.danger is not Danger.READ:
        ok = await screen.app.push_screen_wait(ConfirmScreen(action.title, prepared.confirmation, action.danger.value))
        if not ok:
            screen.notify("cancelled")
            return None
    try:
        result = await dispatcher.invoke(name, prepared.params, actor=actor_of(screen), confirmed=True)
    except ActionError as exc:
        screen.notify(str(exc), severity="error")
        return None
    if result.ok:
        screen.notify(f"{action.title}: done", severity="information")
    else:
        screen.notify(f"{action.title} failed: {result.error}", severity="error", timeout=10)
    return result
