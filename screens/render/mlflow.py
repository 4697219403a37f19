"""Columns, detail text and row actions of the MLflow runs pane (no Textual here).

Metric columns are chosen in `cockpit.mlflow.metric_columns`; `COLUMNS` uses the default pair
(loss, accuracy) and `columns(names)` builds the table for any choice. A run that did not log a
chosen metric shows "-" in that column, never an error.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

from cockpit.mlflow_runs import FIELDS as RUN_FIELDS
from cockpit.mlflow_runs import run_links
from cockpit.values import when
from screens.render import Column, attr
from screens.render.colours import RUN_STATUSES, RowStyle

DEFAULT_METRICS = ("loss", "accuracy")
DETAIL_SCREEN = "screens.mlflow_run:RunScreen"


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def metric_value(item: Any, name: str) -> str:
    value = (_get(item, "metrics") or {}).get(name)
    return "-" if value is None else f"{value:.4g}"


def duration(item: Any) -> str:
    seconds = _get(item, "duration_s")
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def links(item: Any) -> str:
    return " ".join(link.label for link in run_links(_get(item, "tags") or {})) or "-"


def _metric(name: str) -> Column:
    return Column(name.upper(), lambda i: (_get(i, "metrics") or {}).get(name),
                  render=lambda v: "-" if v is None else f"{v:.4g}", priority=2)


def columns(metric_names: Sequence[str] = DEFAULT_METRICS) -> list[Column]:
    head = [
        Column("RUN", lambda i: _get(i, "run_id")[:8], priority=10),
        Column("NAME", attr("name"), priority=8),
        Column("EXPERIMENT", attr("experiment"), priority=5),
        Column("STATUS", attr("status"), priority=9),
        Column("START", attr("start_time"), render=lambda v: (v or "-")[:19].replace("T", " "), priority=3),
        Column("DURATION", attr("duration_s"), render=lambda v: duration({"duration_s": v}), priority=4),
    ]
    return [*head, *(_metric(name) for name in metric_names), Column("LINKS", links, priority=-1)]


# Local and server-side filter fields (cockpit.mlflow_runs), run status colours.
FILTER_FIELDS = RUN_FIELDS
ROW_STYLE = RowStyle(attr("status"), RUN_STATUSES)


COLUMNS = columns()

# (key, action, label, params from the selected run): the dashboard confirms with the action's text.
ROW_ACTIONS = [
    ("ctrl+d", "mlflow.delete_run", "Delete run", lambda item: {"run_id": _get(item, "run_id")}),
    ("R", "mlflow.register_model", "Register model",
     lambda item: {"run_id": _get(item, "run_id"), "model_name": _get(item, "experiment"), "artifact_path": "model"}),
]
# The GPU map through this run (its job or pod, their GPUs, VMs and node). `G`, not `m`: on this
# pane `m` opens the model registry.
ROW_SCREENS = [("G", "screens.gpu_chain:RunChainScreen", "map: job/pod, GPUs, VMs, node")]


def detail(item: Any) -> str:
    """Plain-text detail of a run (used where the full RunScreen is not available)."""
    lines = [
        f"run {_get(item, 'run_id')}  {_get(item, 'name') or ''}",
        f"experiment {_get(item, 'experiment')}  status {_get(item, 'status')}  duration {duration(item)}",
        f"started {when(_get(item, 'start_time'))}" + (f"  ended {when(_get(item, 'end_time'))}"
                                                         if _get(item, "end_time") else ""),
    ]
    for link in run_links(_get(item, "tags") or {}):
        lines.append(f"→ {link.label}")
    metrics = _get(item, "metrics") or {}
    if metrics:
        lines.append("metrics:")
        lines += [f"  {k} = {v:.6g}" for k, v in sorted(metrics.items())]
    params = _get(item, "params") or {}
    if params:
        lines.append("params:")
        lines += [f"  {k} = {v}" for k, v in sorted(params.items())]
    return "\n".join(lines)


def model_rows(models: Sequence[Any]) -> list[tuple[str, str, str, str, str]]:
    """(model, latest version, status, aliases, source run) per registered model for the registry view."""
    rows = []
    for model in models:
        latest = (_get(model, "latest_versions") or ())
        last = latest[-1] if latest else None
        aliases = _get(model, "aliases") or {}
        rows.append((
            _get(model, "name"),
            _get(last, "version") if last else "-",
            (_get(last, "status") or "-") if last else "-",
            " ".join(f"@{a}→v{v}" for a, v in sorted(aliases.items())) or "-",
            ((_get(last, "run_id") or "-")[:8]) if last else "-",
        ))
    return rows


def columns_for_snapshot(snapshot: Any) -> list[Column]:
    """The user's chosen metric columns (cockpit.mlflow.metric_columns); the same Column objects
    while the choice stays, so the pane's per-row cache survives updates."""
    chosen = snapshot.sections.get("metric_columns") if snapshot is not None else None
    return _columns_memo(tuple(chosen) if chosen else DEFAULT_METRICS)


@functools.lru_cache(maxsize=16)
def _columns_memo(names: tuple[str, ...]) -> list[Column]:
    return columns(names)


PANE_SCREENS = [
    ("m", "Model registry", "screens.mlflow_registry:RegistryScreen"),
    ("M", "All runs (paged from the server, compare)", "screens.mlflow_runs:RunsScreen"),
]
