"""Hostile input figures (issue 17): alias bombs refused (time and peak memory), oversized and
non-regular files refused, the biggest allowed document parsed, and how soon a pane is green
again after its backend comes back (SLURM and MLflow refresh intervals from the default config).

Each file case runs `cockpit config validate` in a fresh process: wall time and the child's
peak RSS (from wait4) are what an operator would see.

    .venv/bin/python -m benchmarks.hostile_inputs [--skip-recovery]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def alias_bomb(levels: int, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ",".join(['"lol"'] * width) + "]"]
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def run_cli(*args: str) -> tuple[int, float, float, str]:
    """(exit code, wall s, peak RSS MiB, first stderr line) of `cockpit ARGS` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, cwd=REPO)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    return proc.returncode, wall, usage.ru_maxrss / 1024, (lines[1] if len(lines) > 1 else (lines or [""])[0])[:110]


def in_process(text: str) -> tuple[float, float]:
    from cockpit.errors import ConfigError
    from cockpit.yamltext import load_yaml

    tracemalloc.start()
    started = time.perf_counter()
    try:
        load_yaml(text, "bench.yaml")
    except ConfigError:
        pass
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak / 1e6


def file_cases(tmp: Path) -> None:
    print("== refused in a fresh `cockpit config validate` (exit code, wall, peak RSS of the process)")
    baseline = tmp / "empty.yaml"
    baseline.write_text("{}\n")
    rc, wall, rss, _ = run_cli("config", "validate", str(baseline))
    print(f"  baseline (valid empty config): rc={rc} {wall:.2f} s, {rss:.0f} MiB")
    for levels in (9, 12, 20):
        path = tmp / f"bomb{levels}.yaml"
        text = alias_bomb(levels)
        path.write_text(text)
        rc, wall, rss, msg = run_cli("config", "validate", str(path))
        t_in, mb_in = in_process(text)
        print(f"  alias bomb {levels} levels x 9 ({len(text)} bytes, 9^{levels} = {9 ** levels:.2e} values expanded): "
              f"rc={rc} {wall:.2f} s, {rss:.0f} MiB; parser alone {t_in * 1000:.1f} ms, {mb_in:.2f} MB peak\n      {msg}")
    recursive = tmp / "recursive.yaml"
    recursive.write_text("global: &a {self: *a}\n")
    print("  recursive anchor: rc={} {:.2f} s, {:.0f} MiB\n      {}".format(*run_cli("config", "validate", str(recursive))))
    big = tmp / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(55 * 1024 * 1024)
    print("  55 MB file: rc={} {:.2f} s, {:.0f} MiB\n      {}".format(*run_cli("config", "validate", str(big))))
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    print("  FIFO: rc={} {:.2f} s, {:.0f} MiB\n      {}".format(*run_cli("config", "validate", str(fifo))))
    print("  /dev/zero: rc={} {:.2f} s, {:.0f} MiB\n      {}".format(*run_cli("config", "validate", "/dev/zero")))
    deep = tmp / "deep.yaml"
    deep.write_text("[" * 100_000)
    print("  100,000 '[': rc={} {:.2f} s, {:.0f} MiB\n      {}".format(*run_cli("config", "validate", str(deep))))
    # The biggest document allowed: just under 4 MiB of plain mapping entries.
    allowed = tmp / "allowed.yaml"
    line = "k{:07d}: value\n"
    count = (4 * 1024 * 1024 - 200) // len("  " + line.format(0))
    allowed.write_text("global:\n" + "".join("  " + line.format(i) for i in range(count)))
    print("  {:.1f} MiB allowed document (global: {} keys): rc={} {:.2f} s, {:.0f} MiB".format(
        allowed.stat().st_size / 2**20, count, *run_cli("config", "validate", str(allowed))[:3]))


async def recovery(source_name: str, outage_s: float) -> float:
    from cockpit.config import load_config
    from cockpit.hub import Collector, make_timing
    from cockpit.snapshot import FetchResult, Status

    class Backend:
        name = source_name
        up = False

        async def fetch(self) -> FetchResult:
            if not self.up:
                raise ConnectionRefusedError("connection refused")
            return FetchResult(items={})

    spec = load_config().config.cockpit.refresh.for_source(source_name)
    backend = Backend()
    collector = Collector(backend, make_timing(spec), always=True)
    collector.start()
    await asyncio.sleep(outage_s)
    backend.up = True
    back = time.monotonic()
    while collector.snapshot.status != Status.OK:
        await asyncio.sleep(0.05)
    await collector.stop()
    took = time.monotonic() - back
    print(f"  {source_name}: interval {spec.interval:g} s, down {outage_s:g} s, green {took:.1f} s after it "
          f"answered (limit: two intervals = {2 * spec.interval:g} s)")
    return took


async def recoveries(outage_s: float) -> None:
    print(f"== recovery after a {outage_s:g} s outage (backend stand-in refusing connections, default config timing)")
    await asyncio.gather(recovery("slurm", outage_s), recovery("mlflow", outage_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument("--outage", type=float, default=40.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        file_cases(Path(tmp))
    if not args.skip_recovery:
        asyncio.run(recoveries(args.outage))


if __name__ == "__main__":
    main()
