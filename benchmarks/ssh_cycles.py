"""serve-ssh memory across connect/kill cycles (issue 17 figure).

One in-process SSH server on the embedded default; each cycle connects a real asyncssh client
with a PTY, waits for the first frame, then drops the connection (as a killed client would).
Prints the server process's RSS and live App count after garbage collection at a few checkpoints and the growth per
cycle over the last stretch.

    .venv/bin/python -m benchmarks.ssh_cycles [--cycles 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
from pathlib import Path


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def live_apps() -> int:
    """CockpitApp objects left in memory with every session ended. A few may remain for up to
    the longest timer an App set (a message fade, a notification): a cancelled timer stays in the
    event loop's heap, with the context that names its App, until it is due. A count that keeps
    climbing with the cycles means sessions are being kept."""
    from screens.app import CockpitApp

    return sum(isinstance(obj, CockpitApp) for obj in gc.get_objects())


async def run(cycles: int) -> None:
    import asyncssh

    from cockpit.config import load_config
    from cockpit.runtime import build_runtime
    from cockpit.sshserve import SshCockpitServer, load_or_create_host_key, parse_authorized_keys

    key = asyncssh.generate_private_key("ssh-ed25519")
    runtime = build_runtime(load_config(), audit_path=Path(tempfile.mkdtemp()) / "audit.jsonl")
    server = SshCockpitServer(runtime, parse_authorized_keys(key.export_public_key().decode()),
                              load_or_create_host_key(Path(tempfile.mkdtemp()) / "hk"))
    port = await server.start("127.0.0.1", 0)
    marks: dict[int, float] = {}
    for n in range(1, cycles + 1):
        conn = await asyncssh.connect("127.0.0.1", port, username="v", client_keys=[key], known_hosts=None)
        process = await conn.create_process(term_type="xterm", term_size=(120, 40), encoding="utf-8")
        seen = ""
        async with asyncio.timeout(30):
            while "hpc-compute-01" not in seen:
                seen += await process.stdout.read(65536)
        conn.abort()  # no goodbye: a killed client
        async with asyncio.timeout(30):
            while server.sessions:
                await asyncio.sleep(0.05)
        if n in (1, 10, cycles // 2, cycles) or n % 25 == 0:
            gc.collect()
            marks[n] = rss_mib()
            print(f"  after {n:4d} cycles: RSS {marks[n]:.1f} MiB, ended Apps still alive {live_apps()}", flush=True)
    await server.stop()
    last = cycles
    for first in sorted({min(k for k in marks if k >= 10), cycles // 2}):
        if first < last:
            print(f"growth from cycle {first} to {last}: "
                  f"{(marks[last] - marks[first]) / (last - first) * 1024:.0f} KiB per cycle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    asyncio.run(run(parser.parse_args().cycles))


if __name__ == "__main__":
    main()
