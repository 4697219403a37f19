"""SSH-in monitoring with real asyncssh clients against the in-process server."""

from __future__ import annotations

import asyncio
import re

import asyncssh
import pytest

from cockpit.runtime import build_runtime
from cockpit.sshserve import (AuthorizedKeysError, ServeOptions, SshCockpitServer, load_or_create_host_key,
                              parse_authorized_keys)

ANSI = re.compile(r"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b[()][A-Z0-9]|\x1b[=>]")


def plain(text: str) -> str:
    return ANSI.sub("", text)


class Viewer:
    """A real SSH client with a PTY that keeps everything the server drew."""

    def __init__(self, conn, process):
        self.conn, self.process = conn, process
        self.screen = ""
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        try:
            while True:
                chunk = await self.process.stdout.read(65536)
                if not chunk:
                    return
                self.screen += chunk
        except (asyncssh.Error, ConnectionError):
            return

    async def wait_for(self, text: str, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while text not in plain(self.screen):
                await asyncio.sleep(0.05)

    async def close(self):
        self.conn.close()
        self.reader.cancel()


@pytest.fixture
def keys(tmp_path):
    operator = asyncssh.generate_private_key("ssh-ed25519")
    viewer = asyncssh.generate_private_key("ssh-ed25519")
    text = (f"cockpit-role=operator {operator.export_public_key().decode().strip()} op@laptop\n"
            f"# a viewer: no role option\n{viewer.export_public_key().decode().strip()} phone\n")
    return {"operator": operator, "viewer": viewer, "text": text}


@pytest.fixture
async def server(demo_loaded, tmp_path, keys):
    runtime = build_runtime(demo_loaded, audit_path=tmp_path / "audit.jsonl")
    srv = SshCockpitServer(runtime, parse_authorized_keys(keys["text"]), load_or_create_host_key(tmp_path / "hostkey"),
                           ServeOptions(max_sessions=3, idle_timeout=60))
    port = await srv.start("127.0.0.1", 0)
    srv.port = port
    yield srv
    await srv.stop()


async def connect(server, key, size=(140, 45)) -> Viewer:
    conn = await asyncssh.connect("127.0.0.1", server.port, username="someone", client_keys=[key], known_hosts=None)
    process = await conn.create_process(term_type="xterm-256color", term_size=size, encoding="utf-8")
    return Viewer(conn, process)


async def test_screen_arrives_and_resize_redraws(server, keys):
    viewer = await connect(server, keys["viewer"])
    await viewer.wait_for("VMs and GPU assignment")
    await viewer.wait_for("hpc-compute-01")
    session = next(iter(server.sessions))
    assert session.driver._app.size == (140, 45)
    # Counted before the resize: the redraw can reach the client before this loop sees the size.
    drawn = len(viewer.screen)
    viewer.process.change_terminal_size(100, 30)
    async with asyncio.timeout(10):
        while session.driver._app.size != (100, 30):
            await asyncio.sleep(0.05)
    async with asyncio.timeout(10):  # the redraw at the new size reaches the client
        while "VMs and GPU assignment" not in plain(viewer.screen[drawn:]):
            await asyncio.sleep(0.05)
    await viewer.close()


async def test_viewer_change_action_is_refused_and_audited_with_fingerprint(server, keys):
    viewer = await connect(server, keys["viewer"])
    await viewer.wait_for("hpc-compute-01")
    viewer.process.stdin.write("1")
    await asyncio.sleep(0.3)
    viewer.process.stdin.write("S")  # row action: shut down the selected VM
    await viewer.wait_for("role viewer may not run vm.shutdown")
    records = list(server.runtime.audit.records())
    assert [r["event"] for r in records] == ["action.refused"]
    assert records[0]["actor"]["role"] == "viewer"
    assert records[0]["actor"]["key_fingerprint"] == keys["viewer"].get_fingerprint()
    assert records[0]["actor"]["via"] == "ssh"
    state = server.runtime.adapter("vms").host().run(lambda c: c.lookupByName(records[0]["params"]["name"]).state()[0])
    assert state == 1  # still running
    await viewer.close()


async def test_wrong_key_is_refused(server):
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect("127.0.0.1", server.port, username="x", client_keys=[stranger], known_hosts=None)


async def test_dropped_client_leaves_nothing_running(server, keys):
    before = {t for t in asyncio.all_tasks()}
    viewer = await connect(server, keys["operator"])
    await viewer.wait_for("hpc-compute-01")
    assert len(server.sessions) == 1
    viewer.conn.abort()  # the laptop lid closes
    async with asyncio.timeout(10):
        while server.sessions:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    leftover = {t for t in asyncio.all_tasks() if not t.done()} - before - {asyncio.current_task()}
    assert not [t for t in leftover if "cockpit" in repr(t.get_coro()) or "textual" in repr(t.get_coro())], leftover


async def test_garbage_huge_window_and_key_flood_do_not_hurt_other_sessions(server, keys):
    calm = await connect(server, keys["viewer"])
    await calm.wait_for("hpc-compute-01")
    noisy = await connect(server, keys["viewer"], size=(100000, 100000))
    await noisy.wait_for("VMs and GPU")
    noisy_session = next(s for s in server.sessions if s.process is not None and s.driver and s.driver._app.size.width == 500)
    assert noisy_session.driver._app.size == (500, 200)  # clamped
    noisy.process.stdin.write("\x1b[999;999;999M\x00\xff\x1b]garbage\x07" * 50)
    noisy.process.stdin.write("j" * 20000)
    await asyncio.sleep(1.0)
    drawn = len(calm.screen)
    server.runtime.hub["vms"].refresh()
    calm.process.stdin.write("r")
    async with asyncio.timeout(10):
        while len(calm.screen) == drawn:
            await asyncio.sleep(0.05)
    assert len(server.sessions) == 2
    await noisy.close()
    await calm.close()


async def test_session_limit(server, keys):
    viewers = [await connect(server, keys["viewer"]) for _ in range(3)]
    for v in viewers:
        await v.wait_for("VMs and GPU")
    conn = await asyncssh.connect("127.0.0.1", server.port, username="x", client_keys=[keys["viewer"]], known_hosts=None)
    result = await conn.run(term_type="xterm", term_size=(80, 24))
    assert result.exit_status == 1 and "all 3 sessions are in use" in result.stderr
    conn.close()
    for v in viewers:
        await v.close()


def test_authorized_keys_errors_name_the_line(keys):
    with pytest.raises(AuthorizedKeysError, match="keys:2: cockpit-role must be one of viewer, operator, got 'admin'"):
        parse_authorized_keys("# c\ncockpit-role=admin " + keys["operator"].export_public_key().decode(), "keys")
    with pytest.raises(AuthorizedKeysError, match="keys:1: expected"):
        parse_authorized_keys("not a key line", "keys")


def test_host_key_created_once_with_safe_permissions(tmp_path):
    path = tmp_path / "state" / "hostkey"
    first = load_or_create_host_key(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert load_or_create_host_key(path).get_fingerprint() == first.get_fingerprint()


async def test_more_viewers_cost_the_backends_what_one_does(server, keys):
    """All sessions share one hub: backend fetches per second do not grow with viewers."""
    collector = server.runtime.hub["vms"]

    async def fetches_during(seconds: float) -> int:
        start = collector.fetch_count
        await asyncio.sleep(seconds)
        return collector.fetch_count - start

    one = await connect(server, keys["viewer"])
    await one.wait_for("hpc-compute-01")
    alone = await fetches_during(4.0)
    more = [await connect(server, keys["viewer"]) for _ in range(2)]  # the fixture allows 3 sessions
    for v in more:
        await v.wait_for("hpc-compute-01")
    together = await fetches_during(4.0)
    assert alone >= 1
    assert together <= alone + 1, (alone, together)
    for v in (one, *more):
        await v.close()


async def test_killed_clients_leave_no_app_or_subscription_behind(server, keys):
    """Issue 17: memory grew per connect/kill cycle. Threads started while a session ran (the
    event loop's executor threads are started lazily by the collectors) stored the process-wide
    sys.stderr, which Textual had swapped for a capture object holding that session's App: every
    such thread kept a whole ended App alive. Counts objects, not RSS."""
    import gc
    import threading
    import weakref

    hub = server.runtime.hub
    subscribers_before = {name: len(c._subscribers) for name, c in hub.collectors.items()}
    release = threading.Event()
    threads, apps = [], []
    try:
        for _ in range(3):
            viewer = await connect(server, keys["viewer"])
            await viewer.wait_for("hpc-compute-01")
            apps.append(weakref.ref(next(iter(server.sessions)).driver._app))
            thread = threading.Thread(target=release.wait, daemon=True)  # as an executor thread would
            thread.start()
            threads.append(thread)
            viewer.conn.abort()  # killed client
            viewer.reader.cancel()
            async with asyncio.timeout(10):
                while server.sessions:
                    await asyncio.sleep(0.05)
        # The provisioning collector is registered when a session first attaches to the ansible
        # runner, so it may appear during the loop: a collector that was not there before had
        # no subscribers then.
        after = {name: len(c._subscribers) for name, c in hub.collectors.items()}
        assert after == {name: subscribers_before.get(name, 0) for name in after}
        assert all(c.watchers == 0 for c in hub.collectors.values())
        # A cancelled sleep's timer keeps its task's context (and so the App) until the timer is
        # due: give those a few seconds, then every ended App must be gone.
        async with asyncio.timeout(20):
            while any(ref() is not None for ref in apps):
                gc.collect()
                await asyncio.sleep(0.5)
    finally:
        release.set()
        for thread in threads:
            thread.join(5)
