"""MLflow logging for the workloads: one run per program, tagged for the cockpit, plus metrics.json.

`Tracker(enabled=False)` (``--no-mlflow``, or ranks other than 0) keeps the same calls working and
still writes metrics.json, so benchmarks and non-zero ranks need no special cases.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from workloads.common.metrics_file import write_metrics_json
from workloads.common.tags import run_tags


class Tracker:
    def __init__(
        self,
        workload: str,
        *,
        enabled: bool = True,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        run_name: str | None = None,
        metrics_path: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workload = workload
        self.enabled = enabled
        self.tracking_uri = tracking_uri
        self.experiment = experiment or f"cockpit-{workload.replace('_', '-')}"
        self.run_name = run_name
        self.metrics_path = metrics_path
        self.tags = run_tags(env, workload=workload)
        self.params: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.info: dict[str, Any] = {}
        self.run_id: str | None = None
        self.artifact_uri: str | None = None
        self.model_uri: str | None = None
        self._mlflow: Any = None
        self._started = 0.0

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Tracker":
        self._started = time.time()
        if self.enabled:
            import mlflow

            self._mlflow = mlflow
            if self.tracking_uri:
                mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_experiment(self.experiment)
            run = mlflow.start_run(run_name=self.run_name, tags=self.tags)
            self.run_id = run.info.run_id
            self.artifact_uri = run.info.artifact_uri
            self.tracking_uri = mlflow.get_tracking_uri()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        status = "FINISHED" if exc_type is None else "FAILED"
        if exc is not None:
            self.info["error"] = f"{type(exc).__name__}: {exc}"
        if self._mlflow is not None:
            self._mlflow.end_run(status=status)
        if self.metrics_path is not None:
            self.write_metrics_json(status)

    # -- logging -----------------------------------------------------------------------------
    def log_params(self, params: Mapping[str, Any]) -> None:
        clean = {k: v for k, v in params.items() if v is not None}
        self.params.update(clean)
        if self._mlflow is not None and clean:
            self._mlflow.log_params({k: str(v)[:6000] for k, v in clean.items()})

    def log_metrics(self, metrics: Mapping[str, float | None], step: int | None = None) -> None:
        # metrics.json keeps None (null: "not measurable here", e.g. MFU without a known peak); MLflow cannot.
        self.metrics.update({k: None if v is None else float(v) for k, v in metrics.items()})
        clean = {k: float(v) for k, v in metrics.items() if v is not None}
        if self._mlflow is not None and clean:
            self._mlflow.log_metrics(clean, step=step)

    def set_info(self, **info: Any) -> None:
        """Facts for metrics.json that are neither params nor metrics (device name, paths)."""
        self.info.update(info)

    def log_torch_model(self, model: Any, input_example: Any, name: str = "model") -> None:
        """Log a PyTorch model (torch.export 'pt2' format; pickle if the graph cannot be exported)."""
        if self._mlflow is None:
            return
        import mlflow.pytorch

        requirements = [f"torch=={_torch_version()}"]
        try:
            info = mlflow.pytorch.log_model(model, name=name, input_example=input_example, pip_requirements=requirements)
        except Exception as exc:  # noqa: BLE001 - export limits vary by model; pickle always works
            print(f"note: pt2 export failed ({type(exc).__name__}); logging the model pickled", file=sys.stderr)
            info = mlflow.pytorch.log_model(
                model, name=name, input_example=input_example, pip_requirements=requirements,
                serialization_format="pickle",
            )
        self.model_uri = info.model_uri

    def log_artifacts(self, directory: Path, artifact_path: str | None = None) -> None:
        if self._mlflow is not None:
            self._mlflow.log_artifacts(str(directory), artifact_path=artifact_path)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if self._mlflow is not None:
            self._mlflow.log_artifact(str(path), artifact_path=artifact_path)

    # -- metrics.json ------------------------------------------------------------------------
    def document(self, status: str) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "status": status,
            "started_at": self._started,
            "finished_at": time.time(),
            "mlflow": {
                "enabled": self.enabled,
                "tracking_uri": _redact_uri(self.tracking_uri),
                "experiment": self.experiment if self.enabled else None,
                "run_id": self.run_id,
                "artifact_uri": self.artifact_uri,
                "model_uri": self.model_uri,
            },
            "tags": self.tags,
            "params": self.params,
            "metrics": self.metrics,
            "info": {"python": platform.python_version(), "host": platform.node(), **self.info},
        }

    def write_metrics_json(self, status: str) -> Path | None:
        if self.metrics_path is None:
            return None
        return write_metrics_json(self.metrics_path, self.document(status))


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def _redact_uri(uri: str | None) -> str | None:
    """http://user:token@host -> http://***@host: never write credentials into metrics.json."""
    if not uri:
        return uri
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if not (parts.username or parts.password):
        return uri
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def default_output_dir(workload: str) -> Path:
    base = os.environ.get("COCKPIT_OUTPUT_DIR")
    if base:
        return Path(base)
    job = os.environ.get("SLURM_JOB_ID")
    return Path("outputs") / (f"{workload}-{job}" if job else workload)
