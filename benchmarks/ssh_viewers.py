"""Backend requests with one SSH viewer and with five (issue 10 figure).

Starts the in-process SSH server on the embedded default, connects N real asyncssh clients with a
PTY for a fixed window, and prints how many fetches each collector made, plus bytes sent.
    .venv/bin/python -m benchmarks.ssh_viewers [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path


async def measure(viewers: int, seconds: float) -> dict:
    import asyncssh

    from cockpit.config import load_config
    from cockpit.runtime import build_runtime
    from cockpit.sshserve import SshCockpitServer, load_or_create_host_key, parse_authorized_keys

    key = asyncssh.generate_private_key("ssh-ed25519")
    runtime = build_runtime(load_config())
    server = SshCockpitServer(runtime, parse_authorized_keys(key.export_public_key().decode()),
                              load_or_create_host_key(Path(tempfile.mkdtemp()) / "hk"))
    port = await server.start("127.0.0.1", 0)
    conns, readers = [], []

    async def drain(process):
        try:
            while await process.stdout.read(65536):
                pass
        except Exception:
            pass

    for _ in range(viewers):
        conn = await asyncssh.connect("127.0.0.1", port, username="v", client_keys=[key], known_hosts=None)
        process = await conn.create_process(term_type="xterm", term_size=(160, 48), encoding="utf-8")
        conns.append(conn)
        readers.append(asyncio.create_task(drain(process)))
    await asyncio.sleep(3)  # every viewer up
    start = {n: c.fetch_count for n, c in runtime.hub.collectors.items()}
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - t0
    fetches = {n: c.fetch_count - start[n] for n, c in runtime.hub.collectors.items() if c.configured}
    sent = sum(s.bytes_out for s in server.sessions)
    for conn in conns:
        conn.close()
    for task in readers:
        task.cancel()
    await server.stop()
    return {"fetches": fetches, "elapsed": elapsed, "bytes_out": sent}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="cockpit-ssh-bench-")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.environ[var] = os.path.join(home, var.lower())
    for n in (1, 5):
        r = asyncio.run(measure(n, args.seconds))
        total = sum(r["fetches"].values())
        print(f"{n} viewer(s), {r['elapsed']:.0f} s: backend fetches {total} {r['fetches']}; "
              f"{r['bytes_out'] / 1024:.0f} KiB sent to viewers")


if __name__ == "__main__":
    main()
