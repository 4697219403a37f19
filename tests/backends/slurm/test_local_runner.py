"""LocalRunner (backends/slurm/transport.py) when its command is cancelled or times out while
it still has output to give: it must come back, not wait forever on a pipe nobody reads."""

from __future__ import annotations

import asyncio
import time

import pytest

from backends.slurm.transport import LocalRunner, SlurmError

# Prints far more than a pipe and asyncio's buffer hold (as squeue --json does for a big queue),
# then waits: the command is still running, with output unread, when it is cancelled.
CHATTY = ["sh", "-c", "head -c 50000000 /dev/zero; sleep 30"]


async def test_a_cancelled_command_with_unread_output_is_killed_and_the_runner_returns():
    runner = LocalRunner(None)
    task = asyncio.create_task(runner.run(CHATTY))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 15)
    assert time.monotonic() - started < 10


async def test_a_command_past_its_timeout_with_unread_output_is_killed_and_named():
    runner = LocalRunner(None, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(SlurmError, match=r"sh -c 'head -c 50000000 /dev/zero; sleep 30' gave no answer within 0.5 s"):
        await asyncio.wait_for(runner.run(CHATTY), 15)
    assert time.monotonic() - started < 10
