"""A local `mlflow server` with a SQLite store, for tests, benchmarks and the lab.

The server runs in its own process group (uvicorn plus the huey job runner children), so stopping
it kills the whole group and leaves nothing behind. Seeding writes straight into the SQLite store
through MLflow's own SQLAlchemy models, in one transaction: a thousand runs take about a second,
where logging them through REST would take a minute on a 2-core machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_executable() -> str:
    """The `mlflow` CLI of this interpreter's environment (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "mlflow"
    if beside.exists():
        return str(beside)
    found = shutil.which("mlflow")
    if not found:
        raise FileNotFoundError("the `mlflow` command is not installed (pip install mlflow; mlflow-skinny cannot serve)")
    return found


@dataclass
class MlflowServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_uri(self) -> str:
        return f"sqlite:///{self.directory / 'mlflow.db'}"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.uri}/health", timeout=1) as reply:
                return reply.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server's process group (the server and its job-runner children)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=3)  # uvicorn's graceful shutdown can idle for 10 s
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Children that outlive the leader still carry its group id.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def start_server(directory: Path, port: int | None = None, timeout: float = 90.0) -> MlflowServer:
    """Start `mlflow server` on 127.0.0.1 and wait for /health. Raises with the log tail on failure."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = open(directory / "server.log", "wb")
    cmd = [
        mlflow_executable(), "server",
        "--backend-store-uri", f"sqlite:///{directory / 'mlflow.db'}",
        "--artifacts-destination", str(directory / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    log.close()
    server = MlflowServer(directory=directory, port=port, process=process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.healthy():
            return server
        if process.poll() is not None:
            break
        time.sleep(0.1)
    server.stop()
    tail = server.log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"mlflow server on port {port} did not become healthy within {timeout:g} s:\n{tail}")


def quiet_mlflow_logging() -> None:
    """MLflow logs INFO lines to stderr ("Creating initial MLflow database tables..."); keep warnings."""
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def seed_runs(db_uri: str, experiment: str, count: int, *, artifact_root: str, steps: int = 5,
              start_ms: int | None = None) -> list[str]:
    """Write `count` finished runs (metrics loss/accuracy with `steps` points, params, link tags)
    into a SQLite store in one transaction; returns the run ids, oldest first.

    Every 10th run is FAILED, every 7th has no `accuracy` metric, and run i carries the tag
    slurm_job_id=str(1000 + i)."""
    import mlflow  # noqa: F401  - configures mlflow's loggers, which we then quiet

    quiet_mlflow_logging()
    from mlflow.store.tracking.dbmodels.models import (
        SqlExperiment, SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag,
    )
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(db_uri, artifact_root)
    try:
        experiment_id = store.get_experiment_by_name(experiment).experiment_id
    except AttributeError:
        experiment_id = store.create_experiment(experiment)
    start_ms = start_ms or int(time.time() * 1000) - count * 60_000
    ids: list[str] = []
    with store.ManagedSessionMaker(read_only=False) as session:
        assert session.query(SqlExperiment).filter_by(experiment_id=int(experiment_id)).count() == 1
        rows: list[Any] = []
        for i in range(count):
            run_id = uuid.uuid4().hex
            ids.append(run_id)
            started = start_ms + i * 60_000
            rows.append(SqlRun(
                run_uuid=run_id, name=f"bulk-{i:05d}", source_type="LOCAL", source_name="seed", entry_point_name="",
                user_id="cockpit", status="FAILED" if i % 10 == 9 else "FINISHED", start_time=started,
                end_time=started + 30_000 + i, source_version="", lifecycle_stage="active",
                artifact_uri=f"{artifact_root}/{experiment_id}/{run_id}/artifacts", experiment_id=int(experiment_id),
            ))
            metrics = {"loss": [1.0 / (i + s + 1) for s in range(steps)]}
            if i % 7 != 0:
                metrics["accuracy"] = [min(1.0, (i % 100) / 100 + s / 100) for s in range(steps)]
            for key, values in metrics.items():
                for step, value in enumerate(values):
                    rows.append(SqlMetric(key=key, value=value, timestamp=started + step, step=step, is_nan=False,
                                          run_uuid=run_id))
                rows.append(SqlLatestMetric(key=key, value=values[-1], timestamp=started + steps - 1, step=steps - 1,
                                            is_nan=False, run_uuid=run_id))
            rows.append(SqlParam(key="lr", value=str(0.001 * (1 + i % 5)), run_uuid=run_id))
            rows.append(SqlParam(key="batch_size", value=str(32 * (1 + i % 4)), run_uuid=run_id))
            rows.append(SqlTag(key="mlflow.runName", value=f"bulk-{i:05d}", run_uuid=run_id))
            rows.append(SqlTag(key="slurm_job_id", value=str(1000 + i), run_uuid=run_id))
        session.add_all(rows)
    return ids
