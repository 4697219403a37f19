"""cockpit.replay: moving through a recording rebuilds the moment off the event loop, and the cursor
(the time the screen shows) moves only with the data of that moment."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from cockpit.recorder import Recording
from cockpit.replay import ReplayController, replay_hub
from tests.cockpit.test_recorder import T0, queue_at


async def test_move_rebuilds_in_a_thread_and_moves_the_cursor_with_the_data(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with Recording.create_or_append(path) as rec:
        for step in range(4):
            rec.record({"slurm": queue_at(step)}, (T0 + timedelta(seconds=5 * step)).timestamp())
    with Recording.open(path) as rec:
        stepper = rec.stepper()
        controller = ReplayController(stepper, replay_hub(stepper))
        controller.show()
        real = rec.snapshots_at
        seen: list[tuple[int, str]] = []  # (cursor, the queue's note) at each publish

        def slow(t: float):
            time.sleep(0.3)  # a big recording's rebuild
            return real(t)

        rec.snapshots_at = slow  # type: ignore[method-assign]
        controller.hub["slurm"].subscribe(lambda snap: seen.append((stepper.index, snap.sections["note"])))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        moved = await controller.move(2)
        beat.cancel()
        assert moved and stepper.index == 2
        assert ticks >= 10  # the loop ran on while the moment was rebuilt
        assert seen == [(2, "poll 2")]  # the cursor moved together with its data
        assert await controller.move(to=(T0 + timedelta(seconds=7)).timestamp())
        assert stepper.index == 1 and seen[-1] == (1, "poll 1")
        assert await controller.move(-5) and stepper.index == 0  # clamped to the first moment
        assert not await controller.move(-1)  # already at the start
