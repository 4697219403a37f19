"""Throughput probe of one directory: sequential write with fdatasync, read back, metadata ops.

Standard library only and self-contained, because the same file runs in-process for a local
probe and as `python3 - <args>` (source on stdin) on a client node over SSH. It prints one JSON
object. It works in a fresh hidden directory under the given path and removes it afterwards.

Figures: MB/s are decimal (1 MB = 10^6 bytes, so the seeds' "1 GB/s" is 1000 MB/s). The write
time includes fdatasync, so data reached the file system, not just the page cache. Before the
read the file's cached pages are dropped (posix_fadvise DONTNEED) so the read goes to storage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from datetime import datetime, timezone

# Refuse to fill a file system: keep this much free beyond the probe file.
FREE_MARGIN = 2


class ProbeError(Exception):
    pass


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _rate(amount: float, seconds: float) -> float:
    return amount / seconds if seconds > 0 else 0.0


def write_file(path: str, size: int, block: bytes) -> tuple[int, float]:
    """Write `size` bytes sequentially, fdatasync, return (bytes written, seconds)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written = 0
    view = memoryview(block)
    try:
        start = time.perf_counter()
        while written < size:
            chunk = view[: min(len(block), size - written)]
            while chunk:  # partial writes are legal: keep going until the chunk is out
                n = os.write(fd, chunk)
                written += n
                chunk = chunk[n:]
        os.fdatasync(fd)
        seconds = time.perf_counter() - start
    finally:
        os.close(fd)
    return written, seconds


def drop_cache(path: str) -> bool:
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read_file(path: str, block: bytes) -> tuple[int, float, bool]:
    """Read the file back; return (bytes read, seconds, content matches what was written)."""
    buf = bytearray(len(block))
    view = memoryview(buf)
    total = 0
    intact = True
    with open(path, "rb", buffering=0) as f:
        start = time.perf_counter()
        while True:
            n = f.readinto(buf)
            if not n:
                break
            if view[:n] != block[:n]:
                intact = False
            total += n
        seconds = time.perf_counter() - start
    return total, seconds, intact


def metadata_ops(directory: str, count: int) -> dict[str, float]:
    names = [os.path.join(directory, f"m{i:07d}") for i in range(count)]
    start = time.perf_counter()
    for name in names:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    created = time.perf_counter()
    for name in names:
        os.stat(name)
    stated = time.perf_counter()
    for name in names:
        os.unlink(name)
    removed = time.perf_counter()
    return {
        "create_ops_s": round(_rate(count, created - start), 1),
        "stat_ops_s": round(_rate(count, stated - created), 1),
        "remove_ops_s": round(_rate(count, removed - stated), 1),
    }


def run_probe(path: str, size_mb: int, files: int, block_kb: int = 1024) -> dict:
    """Probe `path`; raises ProbeError with a sentence when it cannot run."""
    if not os.path.isdir(path):
        raise ProbeError(f"{path} is not a directory on {socket.gethostname()}")
    size = size_mb * 1024 * 1024
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize
    if free < size * FREE_MARGIN:
        raise ProbeError(f"{path} has {free / 1e9:.1f} GB free; a {size_mb} MiB probe needs at least "
                         f"{size * FREE_MARGIN / 1e9:.1f} GB (use a smaller size)")
    block = os.urandom(block_kb * 1024)  # random data: compression cannot flatter the figures
    started = _now()
    workdir = tempfile.mkdtemp(prefix=".cockpit-probe-", dir=path)
    try:
        data = os.path.join(workdir, "data")
        written, write_s = write_file(data, size, block)
        on_disk = os.stat(data).st_size
        cache_dropped = drop_cache(data)
        read, read_s, intact = read_file(data, block)
        os.unlink(data)
        meta = metadata_ops(workdir, files)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "host": socket.gethostname(),
        "path": path,
        "size_bytes": size,
        "bytes_written": written,
        "bytes_on_disk": on_disk,
        "bytes_read": read,
        "verified": intact and read == written == on_disk == size,
        "cache_dropped": cache_dropped,
        "write_s": round(write_s, 4),
        "read_s": round(read_s, 4),
        "write_mb_s": round(_rate(written, write_s) / 1e6, 1),
        "read_mb_s": round(_rate(read, read_s) / 1e6, 1),
        "files": files,
        **meta,
        "started_at": started,
        "finished_at": _now(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True)
    parser.add_argument("--size-mb", type=int, required=True)
    parser.add_argument("--files", type=int, required=True)
    parser.add_argument("--block-kb", type=int, default=1024)
    args = parser.parse_args(argv)
    try:
        result = run_probe(args.path, args.size_mb, args.files, args.block_kb)
    except (ProbeError, OSError) as exc:
        print(json.dumps({"error": str(exc), "host": socket.gethostname()}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
