"""One libvirt connection per host URI, opened lazily and reopened after it breaks.

libvirt-python blocks, so every call goes through `call()`, which runs it in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class LibvirtHostConnection:
    def __init__(self, name: str, uri: str) -> None:
        self.name = name
        self.uri = uri
        self._conn: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        import libvirt

        if self._conn is not None:
            try:
                if self._conn.isAlive():
                    return self._conn
            except libvirt.libvirtError:
                pass
            self._conn = None
        self._conn = libvirt.open(self.uri)
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
