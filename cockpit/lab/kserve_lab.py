"""The lab's KServe predictor: the real `kserve` ModelServer (workloads/serve_kserve.py) as a local
process on a free loopback port, in its own virtualenv (.venv-kserve; `SETUP_KSERVE=1 bash
scripts/setup.sh` makes it), serving an MLflow model directory.

On a cluster KServe's controller starts the predictor pod and its storage initializer copies the
model into /mnt/models; here the plan starts this process on the model version's local artifact
directory instead (kserve.local.start) and stops it (kserve.local.stop). It is not a pod, and the
reports say so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from cockpit.lab.prometheus_lab import free_port
from cockpit.procs import pid_alive

REPO = Path(__file__).resolve().parents[2]
MODULE = "workloads.serve_kserve"
START_TIMEOUT_S = 120.0  # torch + kserve import in ~10 s here; the limit is for a loaded 2-core VM
STOP_TIMEOUT_S = 15.0


class KServeLabError(RuntimeError):
    """The model server could not be started or stopped (the message says why, with its last output)."""


@dataclass(frozen=True)
class LocalServer:
    url: str
    pid: int
    port: int
    log: Path


def default_python() -> Path:
    """$COCKPIT_KSERVE_PYTHON, else this checkout's .venv-kserve."""
    env = os.environ.get("COCKPIT_KSERVE_PYTHON")
    return Path(env) if env else REPO / ".venv-kserve" / "bin" / "python"


def why_not(python: Path) -> str | None:
    """Why `python` cannot run the model server, or None when it can."""
    if not python.exists():
        return (f"no KServe interpreter at {python}: make it with `SETUP_KSERVE=1 bash scripts/setup.sh` "
                "(or point COCKPIT_KSERVE_PYTHON at a python with kserve and torch)")
    probe = subprocess.run([str(python), "-c", "import kserve, torch"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return f"{python} cannot import kserve and torch: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def start(python: Path, model_dir: Path, name: str, log_dir: Path, *, threads: int = 1,
          timeout: float = START_TIMEOUT_S) -> LocalServer:
    """Start the ModelServer on `model_dir` as `name` and wait until /v2/health/ready answers 200."""
    if not python.exists():
        raise KServeLabError(str(why_not(python)))
    if not (model_dir / "MLmodel").is_file():
        raise KServeLabError(f"{model_dir}: not an MLflow model directory (no MLmodel file)")
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = log_dir / f"kserve-{name}-{port}.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    argv = [str(python), "-m", MODULE, "--model_dir", str(model_dir), "--model_name", name,
            "--http_port", str(port), "--enable_grpc", "false", "--threads", str(threads)]
    with log.open("w") as out:
        # its own session: a Ctrl-C meant for the plan does not reach it; kserve.local.stop does
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise KServeLabError(f"the model server exited {proc.returncode} before it was ready: {_tail(log)}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return LocalServer(url=url, pid=proc.pid, port=port, log=log)
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _terminate(proc.pid)
            raise KServeLabError(f"the model server was not ready within {timeout:g} s: {_tail(log)}")
        time.sleep(0.5)


def is_model_server(pid: int) -> bool:
    """Is `pid` a process running this module (never signal a pid something else now holds)?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return MODULE.encode() in argv


def _terminate(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child (another cockpit process started it): init reaps it


def stop(pid: int) -> bool:
    """Stop the model server `pid` (SIGTERM, SIGKILL after STOP_TIMEOUT_S). False: it was gone already."""
    if not pid_alive(pid):
        return False
    if not is_model_server(pid):
        raise KServeLabError(f"pid {pid} is not a {MODULE} process; not signalling it")
    _terminate(pid)
    return True
