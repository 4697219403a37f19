"""One libvirt connection per host URI, opened lazily and reopened after it breaks.

libvirt-python blocks, so every call goes through `call()`, which runs it in a worker thread.

Events: libvirt's own default event loop runs in one daemon thread (registered before any
connection opens); callbacks are handed to asyncio with `call_soon_threadsafe`. We do not use
`libvirtaio` here on purpose: it is not thread-safe, and our connections are used from worker
threads (libvirt would call its add/update-handle hooks from those threads).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

_EVENTS_LOCK = threading.Lock()
_EVENTS_STARTED = False


def ensure_event_loop() -> None:
    """Register libvirt's default event implementation once per process and run it in a daemon
    thread. Must happen before the first connection opens, or remote connections get no events."""
    global _EVENTS_STARTED
    with _EVENTS_LOCK:
        if _EVENTS_STARTED:
            return
        import libvirt

        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except Exception:  # a failing iteration must not end event delivery
                    pass

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _EVENTS_STARTED = True


def _silence_libvirt_stderr() -> None:
    """libvirt prints every error to stderr by default; we report errors ourselves."""
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def is_test_uri(uri: str) -> bool:
    return uri.startswith("test:")


def is_local_uri(uri: str) -> bool:
    """True when the URI names this machine (its sysfs, its NVML, its files)."""
    parts = urlsplit(uri)
    if parts.scheme.startswith("test"):
        return True
    transport = parts.scheme.partition("+")[2]
    return not parts.hostname and transport in ("", "unix")


def test_host_file(uri: str) -> str | None:
    """test:///abs/path/host.xml -> /abs/path/host.xml (None for test:///default)."""
    if not is_test_uri(uri):
        return None
    path = urlsplit(uri).path
    return path if path and path != "/default" else None


class LibvirtHostConnection:
    def __init__(self, name: str, uri: str) -> None:
        self.name = name
        self.uri = uri
        self._conn: Any = None
        self._lock = threading.RLock()
        self.generation = 0  # bumped on every (re)open: event callbacks must be registered again

    @property
    def is_test(self) -> bool:
        return is_test_uri(self.uri)

    @property
    def is_local(self) -> bool:
        return is_local_uri(self.uri)

    def _open(self) -> Any:
        import libvirt

        if self._conn is not None:
            try:
                if self._conn.isAlive():
                    return self._conn
            except libvirt.libvirtError:
                pass
            self._conn = None
        ensure_event_loop()
        _silence_libvirt_stderr()
        self._conn = libvirt.open(self.uri)
        self.generation += 1
        return self._conn

    def run(self, fn: Callable[[Any], T]) -> T:
        """Run fn(conn) in the calling (worker) thread, serialised per host."""
        with self._lock:
            return fn(self._open())

    async def call(self, fn: Callable[[Any], T]) -> T:
        return await asyncio.to_thread(self.run, fn)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:
                    pass
                self._conn = None


_SHARED: dict[str, LibvirtHostConnection] = {}
_SHARED_LOCK = threading.Lock()


def shared_connection(name: str, uri: str) -> LibvirtHostConnection:
    """One connection per URI per process: the vms and gpus sources and the actions must see
    the same state (the test driver keeps separate state per open connection)."""
    with _SHARED_LOCK:
        conn = _SHARED.get(uri)
        if conn is None:
            conn = _SHARED[uri] = LibvirtHostConnection(name, uri)
        return conn


def forget_connections() -> None:
    """Close and drop every shared connection (tests, shutdown)."""
    with _SHARED_LOCK:
        for conn in _SHARED.values():
            conn.close()
        _SHARED.clear()
