"""Keys over SSH through the real OpenSSH client: a lone Escape must not hold up the keys after it.

`ssh -tt` runs in a pseudo-terminal against `cockpit serve-ssh` (the real CLI, a child process)
on a loopback port; what the client prints is what a user would see.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from benchmarks.openssh_session import OpenSshSession

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")

# Far above the 0.1 s escape delay plus a frame on a loaded 2-core CI box, far below the 20-100 s
# the bug took.
BOUND_S = 3.0


@pytest.fixture
def session():
    with OpenSshSession(120, 40) as s:
        assert s.wait_for("SLURM queue", 60) is not None, s.screen[-2000:]
        s.drain()
        yield s


def test_keys_register_right_after_a_lone_escape(session):
    session.send("\x1b")
    session.drain(0.4)
    session.send("?")
    assert session.wait_for("AI-HOW Cockpit: keys", BOUND_S) is not None, "? after Escape did not open help"
    session.drain()
    session.send("\x1b")  # closes help: Escape itself must act, not wait for the next key
    assert session.wait_for("SLURM queue", BOUND_S) is not None, "Escape did not close help"
    session.drain()
    session.send(":")
    assert session.wait_for("command:", BOUND_S) is not None, ": after Escape did not open the command line"


def test_escape_then_q_quits(session):
    session.send("\x1b")
    session.drain(0.4)
    session.send("q")
    # The client ends when the server closes the session.
    end = time.monotonic() + BOUND_S * 2
    while time.monotonic() < end:
        session.read_some(0.2)
        try:
            pid, _status = os.waitpid(session.client_pid, os.WNOHANG)
        except ChildProcessError:
            pid = session.client_pid
        if pid:
            session.client_pid = None
            return
    pytest.fail("q after Escape did not end the session")
