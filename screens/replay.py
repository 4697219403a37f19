"""`cockpit replay FILE`: the dashboard over a recording.

Keys on top of the dashboard's: ] / [ one recorded moment forward / back, p play / pause
(recorded time, gaps over 2 s shortened to 2 s), g jump to a time (ISO, or -10m from the end),
home / end the first / last moment. The runtime is read-only: every action is refused.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cockpit.recorder import RecordingError, Stepper, fmt_time, parse_when
from cockpit.replay import ReplayController, replay_runtime
from screens.app import CockpitApp
from screens.modals import MODAL_CSS

MAX_GAP_S = 2.0


class JumpScreen(ModalScreen[str | None]):
    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, first: float, last: float) -> None:
        super().__init__()
        self.first, self.last = first, last

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Jump to a time", classes="title")
            yield Static(f"recorded {fmt_time(self.first)} .. {fmt_time(self.last)}; ISO or -10m from the end")
            yield Input(placeholder="-10m", id="jump-time")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReplayApp(CockpitApp):
    BINDINGS = [
        *CockpitApp.BINDINGS,
        Binding("right_square_bracket", "replay_step(1)", "Step", id="replay.step"),
        Binding("left_square_bracket", "replay_step(-1)", "Back", id="replay.back"),
        Binding("p", "replay_play", "Play/pause", id="replay.play"),
        Binding("g", "replay_jump", "Jump to time", id="replay.jump"),
        Binding("home", "replay_step(-1000000000)", "First", show=False),
        Binding("end", "replay_step(1000000000)", "Last", show=False),
    ]

    def __init__(self, runtime: Any, controller: ReplayController, **kwargs: Any) -> None:
        super().__init__(runtime, **kwargs)
        self.controller = controller
        self._timer: Any = None

    def on_mount(self) -> None:
        super().on_mount()
        self._update_title()

    def _update_title(self) -> None:
        self.sub_title = f"{self.controller.position()}  [read-only]"
        self._tick_status()  # data ages count from the moment shown, which just moved

    def view_now(self) -> datetime:
        """The recorded moment: what replay shows at T is what the live screen showed at T."""
        return datetime.fromtimestamp(self.controller.stepper.now, timezone.utc)

    def record_command(self, args: list[str]) -> None:
        self.say("record: replay reads a recording and writes none", "warning")

    def action_replay_step(self, by: int) -> None:
        self.run_worker(self._move(by=by), group="replay")

    async def _move(self, by: int = 0, to: float | None = None) -> bool:
        """Rebuilding a moment runs in a thread (cockpit.replay.ReplayController.move)."""
        try:
            moved = await self.controller.move(by, to)
        except RecordingError as exc:  # a damaged frame: say it, stay where we are
            self.notify(str(exc), severity="error")
            return False
        if not moved and to is None:
            self.notify("start of the recording" if by < 0 else "end of the recording", timeout=2)
        self._update_title()
        return moved

    def action_replay_play(self) -> None:
        self.controller.playing = not self.controller.playing
        if self.controller.playing:
            self._schedule()
        elif self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._update_title()

    def _schedule(self) -> None:
        delay = self.controller.next_delay()
        if delay is None:
            self.controller.playing = False
            self._update_title()
            return
        self._timer = self.set_timer(min(delay, MAX_GAP_S), self._play_tick)

    def _play_tick(self) -> None:
        if self.controller.playing:
            self.run_worker(self._play_step(), group="replay")

    async def _play_step(self) -> None:
        if not self.controller.playing:
            return
        await self.controller.move(1)
        self._update_title()
        self._schedule()

    def action_replay_jump(self) -> None:
        moments = self.controller.stepper.moments

        def jump(text: str | None) -> None:
            if not text:
                return
            try:
                moment = parse_when(text, now=moments[-1])
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            self.run_worker(self._move(to=moment), group="replay")

        self.push_screen(JumpScreen(moments[0], moments[-1]), jump)


def run_replay(loaded: Any, stepper: Stepper) -> int:
    runtime, controller = replay_runtime(loaded, stepper)
    app = ReplayApp(runtime, controller)
    try:
        return app.run() or 0
    finally:
        stepper.recording.close()
