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
    """Through the one interaction seam (screens/interaction.py): prepare, confirm, invoke as the
    app's actor, outcome in the message area. Must run inside a worker (it waits for modals)."""
    from screens.interaction import perform

    return await perform(screen, name, params)
