"""MLflow's REST JSON (runs, experiments, metrics, registry) -> snapshot items.

The shapes are MLflow's protobuf messages as JSON (mlflow/protos/service.proto,
model_registry.proto): int64 fields may arrive as numbers or strings, doubles as numbers or
"NaN"/"Infinity". The SQLite reader builds the same shapes, so both share these functions.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from backends.mlflow.models import ExperimentItem, MetricPoint, ModelVersionItem, RegisteredModelItem, RunItem

# Tags that link a run to the rest of the cockpit (set by workloads/ and plans). Exact names:
#   slurm_job_id   SLURM job id ("1234"; array tasks "1234_7")
#   k8s_pod        Kubernetes pod name, with k8s_namespace (default "default")
#   plan, plan_step  the plan name and the step id within it
#   cockpit.source   which cockpit component logged the run
LINK_TAGS = ("slurm_job_id", "k8s_pod", "k8s_namespace", "plan", "plan_step", "cockpit.source", "mlflow.runName")
# Tags of interest copied into snapshot items (mlflow.runName is already the item's name).
ITEM_TAGS = tuple(t for t in LINK_TAGS if t != "mlflow.runName")


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def iso_ms(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def duration_s(status: str, start: int | None, end: int | None) -> float | None:
    if not start:
        return None
    if end:
        return (end - start) / 1000.0
    if status == "RUNNING":
        return max(0.0, datetime.now(timezone.utc).timestamp() - start / 1000.0)
    return None


def run_from_json(run: Mapping[str, Any], names: Mapping[str, str]) -> RunItem:
    info, data = run["info"], run.get("data") or {}
    experiment_id = str(info["experiment_id"])
    start, end = _int(info.get("start_time")), _int(info.get("end_time"))
    status = info.get("status") or "RUNNING"
    tags = {t["key"]: t.get("value", "") for t in data.get("tags", ())}
    return RunItem(
        run_id=info.get("run_id") or info["run_uuid"],
        experiment=names.get(experiment_id, experiment_id),
        experiment_id=experiment_id,
        name=info.get("run_name") or tags.get("mlflow.runName"),
        status=status,
        start_time=iso_ms(start),
        end_time=iso_ms(end),
        duration_s=duration_s(status, start, end),
        user=info.get("user_id") or None,
        metrics={m["key"]: float(m["value"]) for m in data.get("metrics", ())},
        params={p["key"]: p.get("value", "") for p in data.get("params", ())},
        tags={k: v for k, v in tags.items() if k in ITEM_TAGS},
    )


def experiment_from_json(e: Mapping[str, Any]) -> ExperimentItem:
    return ExperimentItem(experiment_id=str(e["experiment_id"]), name=e["name"],
                          lifecycle_stage=e.get("lifecycle_stage") or "active",
                          last_update_time=iso_ms(_int(e.get("last_update_time"))))


def point_from_json(m: Mapping[str, Any]) -> MetricPoint:
    return MetricPoint(step=int(m.get("step") or 0), value=float(m["value"]), timestamp=int(m.get("timestamp") or 0))


def version_from_json(v: Mapping[str, Any], aliases: tuple[str, ...] = ()) -> ModelVersionItem:
    return ModelVersionItem(
        version=str(v["version"]), run_id=v.get("run_id") or None, status=v.get("status"), source=v.get("source"),
        aliases=tuple(sorted(set(aliases) | set(v.get("aliases") or ()))),
        created=iso_ms(_int(v.get("creation_timestamp"))), description=v.get("description") or None,
    )


def model_from_json(rm: Mapping[str, Any]) -> RegisteredModelItem:
    aliases = {a["alias"]: str(a["version"]) for a in rm.get("aliases", ())}
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    return RegisteredModelItem(
        name=rm["name"],
        aliases=dict(sorted(aliases.items())),
        latest_versions=tuple(version_from_json(v, tuple(by_version.get(str(v["version"]), ())))
                              for v in sorted(rm.get("latest_versions", ()), key=lambda v: int(v["version"]))),
        description=rm.get("description") or None,
        updated=iso_ms(_int(rm.get("last_updated_timestamp"))),
    )
