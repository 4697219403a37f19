"""Pieces shared by the MLflow screens: a prompt modal, running an action from a screen (with the
shared confirmation modal of screens/modals.py), the MLflow reads of the query seam, and the chosen metric
columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from screens.render.mlflow import DEFAULT_METRICS
from screens.modals import ConfirmScreen

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


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


def mlflow_adapter(runtime: "Runtime") -> Any | None:
    """The MLflow reads of the query seam, or None when MLflow is unconfigured/broken."""
    return runtime.query.run_history()


def chosen_metrics(runtime: "Runtime") -> Sequence[str]:
    settings = getattr(runtime.config.cockpit, "mlflow", None)
    return tuple(settings.metric_columns) if settings is not None and settings.metric_columns else DEFAULT_METRICS


async def run_action(screen: Screen[Any], runtime: "Runtime", name: str, params: dict[str, Any]) -> Any | None:
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
        ok = await screen.app.push_screen_wait(ConfirmScreen(name, action.danger.value, prepared.confirmation))
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
