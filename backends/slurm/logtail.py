"""Follow a job's output file as the job writes it.

Locally: Linux inotify (through ctypes, no extra package) wakes us on every write; on file
systems where inotify sees nothing from other hosts (NFS, BeeGFS) a poll of the file size runs
beside it, so lines still arrive, just up to `poll_s` later. Over SSH: `tail -F` on the remote host.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import shlex
import struct
from typing import Any, AsyncIterator

TAIL_BYTES = 16384  # a tail reads at most this much of the file's end

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_CREATE, IN_MOVED_TO = 0x2, 0x4, 0x8, 0x100, 0x80
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000


class Inotify:
    """One inotify instance watching one directory (so a file that appears later is seen too)."""

    def __init__(self, directory: str) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO
        if libc.inotify_add_watch(self.fd, os.fsencode(directory), mask) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"inotify_add_watch {directory} failed")

    def drain(self) -> list[str]:
        names = []
        with contextlib.suppress(BlockingIOError):
            data = os.read(self.fd, 65536)
            offset = 0
            while offset + 16 <= len(data):
                _wd, _mask, _cookie, length = struct.unpack_from("iIII", data, offset)
                names.append(data[offset + 16: offset + 16 + length].rstrip(b"\0").decode(errors="replace"))
                offset += 16 + length
        return names

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


async def follow_file(path: str, *, from_start: bool = True, poll_s: float = 1.0,
                      use_inotify: bool = True) -> AsyncIterator[str]:
    """Yield complete lines appended to `path` (waiting for it to appear); runs until cancelled."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    notifier: Inotify | None = None
    if use_inotify:
        try:
            notifier = Inotify(os.path.dirname(os.path.abspath(path)) or ".")
            loop.add_reader(notifier.fd, lambda: (notifier.drain(), wake.set()))
        except OSError:
            notifier = None  # no inotify (limits, odd FS): polling alone
    position = 0 if from_start else (os.path.getsize(path) if os.path.exists(path) else 0)
    pending = b""
    inode = None
    try:
        while True:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None:
                if inode is not None and (st.st_ino != inode or st.st_size < position):
                    position, pending = 0, b""  # truncated or replaced (requeued job): start over
                inode = st.st_ino
                if st.st_size > position:
                    with open(path, "rb") as fh:
                        fh.seek(position)
                        chunk = fh.read(st.st_size - position)
                    position += len(chunk)
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        yield line.decode(errors="replace")
            wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), poll_s)
    finally:
        if notifier is not None:
            loop.remove_reader(notifier.fd)
            notifier.close()


async def follow_remote(pool: Any, target: Any, path: str) -> AsyncIterator[str]:
    """`tail -F` over the pooled SSH connection; the remote process ends when we stop reading."""
    conn = await pool.connection(target)
    process = await conn.create_process(f"tail -n +1 -F {shlex.quote(path)} 2>/dev/null")
    try:
        async for line in process.stdout:
            yield str(line).rstrip("\n")
    finally:
        process.terminate()
        with contextlib.suppress(Exception):
            process.close()


def _last_lines(data: bytes, lines: int) -> str:
    text = data.decode(errors="replace")
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


def read_tail(path: str, lines: int = 20) -> str:
    """The last `lines` lines of a local file (blocking: run it in a thread). Raises OSError."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - TAIL_BYTES))
        return _last_lines(fh.read(), lines)


async def read_tail_remote(pool: Any, target: Any, path: str, lines: int = 20) -> str:
    """The last `lines` lines of a file on the SSH host. Raises OSError when it cannot be read."""
    result = await pool.run(target, f"tail -c {TAIL_BYTES} {shlex.quote(path)}", timeout=20.0)
    if result.exit_status != 0:
        raise OSError(f"{path}: {result.stderr.strip() or f'tail exited {result.exit_status}'}")
    return _last_lines(result.stdout.encode(), lines)
