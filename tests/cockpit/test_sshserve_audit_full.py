"""`audit_log: /dev/full` over serve-ssh: a viewer's refused keypress is refused with the reason
shown, and that viewer's session stays up (it used to be killed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cockpit.runtime import build_runtime
from cockpit.sshserve import ServeOptions, SshCockpitServer, load_or_create_host_key, parse_authorized_keys
from tests.cockpit.test_sshserve import connect, keys, plain  # noqa: F401 - fixture


@pytest.fixture
async def full_server(demo_loaded, tmp_path, keys):  # noqa: F811
    runtime = build_runtime(demo_loaded, audit_path=Path("/dev/full"))
    srv = SshCockpitServer(runtime, parse_authorized_keys(keys["text"]), load_or_create_host_key(tmp_path / "hostkey"),
                           ServeOptions(max_sessions=3, idle_timeout=60))
    srv.port = await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop()


async def test_refused_keypress_with_unwritable_audit_keeps_the_session(full_server, keys):  # noqa: F811
    viewer = await connect(full_server, keys["viewer"])
    await viewer.wait_for("hpc-compute-01")
    viewer.process.stdin.write("1")
    await asyncio.sleep(0.3)
    viewer.process.stdin.write("S")  # row action: shut down the selected VM
    await viewer.wait_for("/dev/full")
    await asyncio.sleep(1.0)
    [session] = list(full_server.sessions)  # the viewer's session is still there
    assert session.driver._app.is_running and not viewer.conn.is_closed()
    viewer.process.change_terminal_size(100, 30)  # and still answers
    async with asyncio.timeout(10):
        while session.driver._app.size != (100, 30):
            await asyncio.sleep(0.05)
    await viewer.close()
