"""The query seam: on-demand reads for screens and plans (job logs, run history, probe history).

In the spirit of k9s's `Describer` / `Loggable`: each kind of read is a small typed Protocol an
adapter may offer, and `Query` finds the adapter that offers it. Reads are not audited and change
nothing; anything that changes the world is an action (cockpit.actions), never a query.
Screens reach backends only through here, the snapshots and the actions.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Protocol, runtime_checkable


@runtime_checkable
class Loggable(Protocol):
    """An adapter that can follow a log file as it grows (SLURM job output)."""

    def follow_log(self, path: str, **options: Any) -> AsyncIterator[str]: ...

    async def read_log_tail(self, path: str, lines: int = 20) -> str: ...


@runtime_checkable
class Describer(Protocol):
    """An adapter that describes one job in full: every field, its batch script, nodes and steps
    (SLURM `scontrol show job` / slurmrestd, plus the last accounting read)."""

    async def job_detail(self, job_id: int) -> dict[str, Any]: ...


@runtime_checkable
class RunHistory(Protocol):
    """An adapter that pages runs and reads one run's detail and metric history (MLflow)."""

    async def runs_page(self, *args: Any, **kwargs: Any) -> Any: ...

    async def run_detail(self, run_id: str) -> Any: ...

    async def metric_history(self, run_id: str, key: str) -> Any: ...

    async def model_versions(self, name: str) -> Any: ...


@runtime_checkable
class KubeApi(Protocol):
    """The Kubernetes adapter: an API connection for pods, their events and their logs."""

    async def connect(self) -> Any: ...


@runtime_checkable
class MetricHistory(Protocol):
    """An adapter that reads metric history back (Prometheus, scraping `cockpit serve-metrics`)."""

    history_s: float

    async def query(self, promql: str, at: Any = None) -> Any: ...

    async def history(self, promql: str, points: int = 120, end: Any = None) -> Any: ...


# The exporter's series (cockpit/metrics_export.py) that sparklines read back.
GPU_UTILISATION = "cockpit_gpu_utilization_ratio"
SLURM_JOBS_BY_STATE = "sum by (state) (cockpit_slurm_jobs)"


class QueryUnavailable(LookupError):
    """The source that answers this read is not configured (or offers no such read)."""


class Query:
    """The reads of one runtime. `adapter(name)` is the runtime's adapter lookup."""

    def __init__(self, adapter: Callable[[str], Any]) -> None:
        self._adapter = adapter

    def _find(self, source: str, kind: type[Any]) -> Any:
        try:
            found = self._adapter(source)
        except KeyError:
            raise QueryUnavailable(f"{source} is not part of this cockpit") from None
        if not isinstance(found, kind):
            raise QueryUnavailable(f"{source} is not configured (no {kind.__name__} reads)")
        return found

    # -- SLURM --------------------------------------------------------------------------------
    async def job_detail(self, job_id: int) -> dict[str, Any]:
        """Every field of a job, its batch script, nodes and steps."""
        describer: Describer = self._find("slurm", Describer)
        return await describer.job_detail(job_id)

    def follow_job_log(self, path: str, **options: Any) -> AsyncIterator[str]:
        """Lines of a job's output file as the job writes them (inotify locally, polling
        fallback, or `tail -F` over SSH when the cockpit reaches Slurm by SSH)."""
        loggable: Loggable = self._find("slurm", Loggable)
        return loggable.follow_log(path, **options)

    async def read_log_tail(self, path: str, lines: int = 20) -> str:
        """The last lines of a job's output file (a failed plan step quotes them)."""
        loggable: Loggable = self._find("slurm", Loggable)
        return await loggable.read_log_tail(path, lines)

    # -- MLflow -------------------------------------------------------------------------------
    def run_history(self) -> RunHistory | None:
        """The MLflow reads (runs, run detail, metric history, model versions), or None when
        MLflow is not configured."""
        try:
            found: RunHistory = self._find("mlflow", RunHistory)
        except QueryUnavailable:
            return None
        return found

    # -- Kubernetes ---------------------------------------------------------------------------
    async def describe_pod(self, namespace: str, name: str) -> dict[str, Any]:
        """Pod status, containers, conditions and events (what `kubectl describe pod` shows)."""
        from backends.kube import operations as ops
        from backends.kube.models import PodItem
        from backends.kube.resources import PODS

        source: KubeApi = self._find("kubernetes", KubeApi)
        pod = await ops.get(source, PODS, namespace, name)  # type: ignore[arg-type]
        events = await ops.events_for(source, pod)  # type: ignore[arg-type]
        statuses = {cs.get("name"): cs for cs in (pod.get("status") or {}).get("containerStatuses") or []}
        containers = []
        for c in (pod.get("spec") or {}).get("containers") or []:
            cs = statuses.get(c.get("name"), {})
            containers.append({"name": c.get("name"), "image": c.get("image"), "ready": bool(cs.get("ready")),
                               "restarts": cs.get("restartCount", 0), "state": cs.get("state") or {},
                               "resources": c.get("resources") or {}})
        return {
            "pod": PodItem.from_api(pod).model_dump(mode="json"),
            "labels": (pod.get("metadata") or {}).get("labels") or {},
            "conditions": (pod.get("status") or {}).get("conditions") or [],
            "containers": containers,
            "events": [{"type": e.get("type"), "reason": e.get("reason"), "message": e.get("message"),
                        "count": e.get("count", 1), "last": e.get("lastTimestamp") or e.get("eventTime")}
                       for e in events],
        }

    def pod_logs(self, namespace: str, name: str, container: str | None = None, tail_lines: int | None = 200,
                 follow: bool = False) -> AsyncIterator[str]:
        """A pod's log lines (the last `tail_lines`; with `follow`, then every new one)."""
        from backends.kube import operations as ops

        source: KubeApi = self._find("kubernetes", KubeApi)
        lines: AsyncIterator[str] = ops.pod_logs(source, namespace, name, container, tail_lines, follow)  # type: ignore[arg-type]
        return lines

    # -- Prometheus ---------------------------------------------------------------------------
    def metric_history(self) -> MetricHistory | None:
        """The Prometheus reads (instant and range queries over `cockpit.prometheus.history`),
        or None when no Prometheus is configured."""
        try:
            found: MetricHistory = self._find("prometheus", MetricHistory)
        except QueryUnavailable:
            return None
        return found

    async def series_history(self, promql: str, by: str, points: int = 120) -> dict[str, list[float]]:
        """Label `by` -> the query's values over the configured history, oldest first; empty when
        no Prometheus is configured. Prometheus errors propagate (they say why)."""
        reader = self.metric_history()
        if reader is None:
            return {}
        return {s.labels.get(by, ""): s.values for s in await reader.history(promql, points)}

    async def gpu_utilisation_history(self, points: int = 120) -> dict[str, list[float]]:
        """GPU (PCI address) -> utilisation 0..1 over the configured history."""
        return await self.series_history(GPU_UTILISATION, "gpu", points)

    async def slurm_job_history(self, points: int = 120) -> dict[str, list[float]]:
        """SLURM job state -> job count over the configured history."""
        return await self.series_history(SLURM_JOBS_BY_STATE, "state", points)

    # -- BeeGFS -------------------------------------------------------------------------------
    def probe_history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The last throughput probes, newest last (a small local state file)."""
        from backends.beegfs.probe import load_history

        return load_history(limit)
