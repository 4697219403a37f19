"""A throwaway monitoring stack on loopback: `cockpit serve-metrics` scraped every second by the
real Prometheus server (Debian's `prometheus` package; scripts/setup.sh installs it).

Used by the tests and by the validate-hpc plan's lab profile (TASK-044 "monitoring works").
Start-up is bounded (`START_TIMEOUT_S`) and both processes are always stopped when the context
ends (SIGTERM, then SIGKILL), whatever happened inside it.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0  # both start within a few seconds; the limit is for a loaded 2-core VM


class MonitoringLabError(RuntimeError):
    """The exporter or Prometheus did not start (the message says which, and its last output)."""


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line:
                return line.strip()
        if proc.poll() is not None:
            break
    stop(proc)
    err = proc.stderr.read() if proc.stderr else ""
    raise MonitoringLabError(f"serve-metrics printed no address within {timeout:g} s "
                             f"(exit {proc.returncode}): {err[-2000:]}")


@contextmanager
def exporter(config: str | None = None, timeout: float = START_TIMEOUT_S) -> Iterator[str]:
    """`cockpit serve-metrics` on a free loopback port; yields its host:port."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    argv = [sys.executable, "-m", "cockpit", *(["--config", config] if config else []),
            "serve-metrics", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _first_line(proc, timeout)
        address = line.rsplit("http://", 1)[-1].removesuffix("/metrics")
        if not address.startswith("127.0.0.1:"):
            raise MonitoringLabError(f"serve-metrics printed {line!r}, not its address")
        yield address
    finally:
        stop(proc)


@contextmanager
def prometheus(target: str, workdir: Path | None = None, timeout: float = START_TIMEOUT_S) -> Iterator[str]:
    """The real Prometheus scraping `target` (host:port) every second; yields its base URL."""
    binary = prometheus_binary()
    if binary is None:
        raise MonitoringLabError("the prometheus binary is not installed (Debian package `prometheus`)")
    with tempfile.TemporaryDirectory(prefix="cockpit-prometheus-", dir=workdir) as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: cockpit\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        listen = f"127.0.0.1:{free_port()}"
        log_path = Path(tmp) / "prometheus.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={Path(tmp) / 'tsdb'}",
                                     f"--web.listen-address={listen}", "--log.level=warn"],
                                    stdout=log, stderr=subprocess.STDOUT)
            url = f"http://{listen}"
            try:
                deadline = time.monotonic() + timeout
                while True:
                    if proc.poll() is not None:
                        raise MonitoringLabError(f"prometheus exited {proc.returncode}: {log_path.read_text()[-2000:]}")
                    try:
                        if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise MonitoringLabError(f"prometheus not ready within {timeout:g} s")
                    time.sleep(0.25)
                yield url
            finally:
                stop(proc)


@contextmanager
def monitoring_stack(config: str | None = None) -> Iterator[tuple[str, str]]:
    """Both: yields (exporter host:port, Prometheus URL)."""
    with exporter(config) as address, prometheus(address) as url:
        yield address, url
