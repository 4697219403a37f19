"""Reads of a local MLflow SQLite store (`sqlite:///path/mlflow.db`) without `import mlflow`.

A local store has no REST server to ask, and `import mlflow` alone costs 1.5 s or more (seconds
on a loaded machine), so the common reads (experiments, the newest runs page by page, metric
history, the registry) open the file read-only with the standard library's sqlite3, in a worker
thread. What this does not cover (a search filter string, an order other than newest first, a
non-local artifact store) goes to MLflow's own client, imported lazily (see source.py).

The tables and columns read are MLflow's own (mlflow/store/tracking/dbmodels/models.py and
mlflow/store/model_registry/dbmodels/models.py, MLflow 3.17; the columns read here exist since
MLflow 2.3). Results are built in the shapes of MLflow's REST JSON and go through the same
converters, and the tests compare them with what `mlflow server` answers over the same file.
Nothing is written: a store that does not exist yet reads as empty (the first run logged
creates it), so the cockpit never migrates a store while a job is creating it.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from backends.mlflow.convert import (
    LINK_TAGS, experiment_from_json, model_from_json, point_from_json, run_from_json, version_from_json,
)
from backends.mlflow.errors import MlflowError
from backends.mlflow.models import ExperimentItem, MetricPoint, ModelVersionItem, RegisteredModelItem, RunItem

DEFAULT_ORDER = ("attributes.start_time DESC",)
DELETED_STAGE = "Deleted_Internal"  # MLflow's STAGE_DELETED_INTERNAL
WORKSPACE = "default"  # MLflow's DEFAULT_WORKSPACE_NAME (tables carry `workspace` since MLflow 3.x)


def sqlite_path(uri: str) -> Path:
    """sqlite:///rel.db -> rel.db, sqlite:////abs/m.db -> /abs/m.db (SQLAlchemy's convention)."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    return Path(unquote(rest.partition("?")[0].removeprefix("/")))


def page_token(offset: int) -> str:
    """MLflow's own token format (SearchUtils.create_page_token), so tokens carry over to the client."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def token_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(token))["offset"]
    except (ValueError, KeyError, TypeError):
        raise MlflowError(f"invalid page token {token[:40]!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise MlflowError(f"invalid page token {token[:40]!r}")
    return offset


class SqliteStore:
    """Read-only queries on one MLflow SQLite file. Blocking: call from a worker thread."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.path = sqlite_path(uri)
        self._columns: dict[str, set[str]] = {}

    def handles(self, filter_string: str, order_by: Iterable[str] | None) -> bool:
        """Whether a run search is one this reader answers (else: MLflow's client)."""
        return not filter_string.strip() and tuple(order_by or DEFAULT_ORDER) == DEFAULT_ORDER

    def _connect(self) -> sqlite3.Connection | None:
        if not self.path.exists():
            return None
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
        except sqlite3.Error as exc:
            raise MlflowError(f"MLflow store {self.path}: {exc}") from None
        db.row_factory = sqlite3.Row
        return db

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        db = self._connect()
        if db is None:
            return []
        with closing(db):
            try:
                return db.execute(sql, tuple(args)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # a store being created right now: nothing to show yet
                    return []
                raise MlflowError(f"MLflow store {self.path}: {exc}") from None

    def _workspace(self, table: str) -> str:
        """' AND workspace = ?' where the table has MLflow 3's workspace column."""
        if table not in self._columns:
            columns = {r["name"] for r in self._query(f"PRAGMA table_info({table})")}
            if not columns:  # no store (or no such table) yet: ask again next time
                return ""
            self._columns[table] = columns
        return f" AND workspace = '{WORKSPACE}'" if "workspace" in self._columns[table] else ""

    # -- tracking ----------------------------------------------------------------------------
    def experiments(self) -> list[ExperimentItem]:
        rows = self._query("SELECT experiment_id, name, lifecycle_stage, last_update_time FROM experiments "
                           "WHERE lifecycle_stage = 'active'" + self._workspace("experiments") +
                           " ORDER BY creation_time DESC, experiment_id")  # MLflow's default order
        return [experiment_from_json(dict(r)) for r in rows]

    def search_runs(self, experiment_ids: list[str], names: Mapping[str, str], *, page_token: str | None = None,
                    max_results: int = 100) -> tuple[list[RunItem], str | None]:
        """Newest runs first (MLflow's order: start_time DESC, then run_uuid), active runs only."""
        offset = token_offset(page_token)
        if not experiment_ids:
            return [], None
        marks = ",".join("?" * len(experiment_ids))
        rows = self._query(
            "SELECT run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri FROM runs "
            f"WHERE experiment_id IN ({marks}) AND lifecycle_stage = 'active' "
            "ORDER BY start_time IS NULL, start_time DESC, run_uuid LIMIT ? OFFSET ?",
            [int(e) for e in experiment_ids] + [max_results, offset])
        runs = self._with_data(rows)
        token = page_token_for(offset, len(rows), max_results)
        return [run_from_json(r, names) for r in runs], token

    def _with_data(self, rows: list[sqlite3.Row], all_tags: bool = False) -> list[dict[str, Any]]:
        ids = [r["run_uuid"] for r in rows]
        data: dict[str, dict[str, list[dict[str, Any]]]] = {i: {"metrics": [], "params": [], "tags": []} for i in ids}
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            marks = ",".join("?" * len(chunk))
            for m in self._query(f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})",
                                 chunk):
                data[m["run_uuid"]]["metrics"].append({"key": m["key"], "value": "NaN" if m["is_nan"] else m["value"]})
            for p in self._query(f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", chunk):
                data[p["run_uuid"]]["params"].append({"key": p["key"], "value": p["value"]})
            tag_filter = "" if all_tags else f" AND key IN ({','.join('?' * len(LINK_TAGS))})"
            for t in self._query(f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks}){tag_filter}",
                                 chunk + ([] if all_tags else list(LINK_TAGS))):
                data[t["run_uuid"]]["tags"].append({"key": t["key"], "value": t["value"]})
        return [{"info": {"run_id": r["run_uuid"], "run_name": r["name"], "experiment_id": r["experiment_id"],
                          "user_id": r["user_id"], "status": r["status"], "start_time": r["start_time"],
                          "end_time": r["end_time"], "artifact_uri": r["artifact_uri"]},
                 "data": data[r["run_uuid"]]} for r in rows]

    def run(self, run_id: str, names: dict[str, str]) -> tuple[RunItem, dict[str, str], str | None]:
        rows = self._query("SELECT run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri "
                           "FROM runs WHERE run_uuid = ?", [run_id])
        if not rows:
            raise MlflowError(f"Run with id={run_id} not found in the MLflow store {self.path}")
        experiment_id = str(rows[0]["experiment_id"])
        if experiment_id not in names:
            for e in self._query("SELECT experiment_id, name FROM experiments WHERE experiment_id = ?", [experiment_id]):
                names[experiment_id] = e["name"]
        full = self._with_data(rows, all_tags=True)[0]
        tags = {t["key"]: t["value"] for t in full["data"]["tags"]}
        return run_from_json(full, names), tags, rows[0]["artifact_uri"]

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        rows = self._query("SELECT step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
                           "ORDER BY step, timestamp", [run_id, key])
        return [point_from_json({"step": r["step"], "timestamp": r["timestamp"],
                                 "value": "NaN" if r["is_nan"] else r["value"]}) for r in rows]

    # -- registry ----------------------------------------------------------------------------
    def _versions(self, name: str | None = None) -> list[dict[str, Any]]:
        where = "current_stage != ?" + self._workspace("model_versions") + (" AND name = ?" if name else "")
        rows = self._query("SELECT name, version, creation_time, current_stage, description, source, run_id, status "
                           f"FROM model_versions WHERE {where}", [DELETED_STAGE] + ([name] if name else []))
        return [{"name": r["name"], "version": r["version"], "creation_timestamp": r["creation_time"],
                 "current_stage": r["current_stage"], "description": r["description"], "source": r["source"],
                 "run_id": r["run_id"], "status": r["status"]} for r in rows]

    def _aliases(self, name: str | None = None) -> list[sqlite3.Row]:
        where = "1 = 1" + self._workspace("registered_model_aliases") + (" AND name = ?" if name else "")
        return self._query(f"SELECT name, alias, version FROM registered_model_aliases WHERE {where}",
                           [name] if name else [])

    def registered_models(self) -> list[RegisteredModelItem]:
        models = self._query("SELECT name, last_updated_time, description FROM registered_models WHERE 1 = 1" +
                             self._workspace("registered_models") + " ORDER BY name")
        latest: dict[str, dict[str, dict[str, Any]]] = {}  # name -> stage -> newest version (MLflow's latest_versions)
        for v in self._versions():
            stages = latest.setdefault(v["name"], {})
            if v["current_stage"] not in stages or stages[v["current_stage"]]["version"] < v["version"]:
                stages[v["current_stage"]] = v
        aliases: dict[str, list[dict[str, Any]]] = {}
        for a in self._aliases():
            aliases.setdefault(a["name"], []).append({"alias": a["alias"], "version": a["version"]})
        return [model_from_json({"name": m["name"], "description": m["description"],
                                 "last_updated_timestamp": m["last_updated_time"],
                                 "latest_versions": list(latest.get(m["name"], {}).values()),
                                 "aliases": aliases.get(m["name"], [])}) for m in models]

    def model_versions(self, name: str) -> list[ModelVersionItem]:
        if not self._query("SELECT name FROM registered_models WHERE name = ?" + self._workspace("registered_models"),
                           [name]):
            raise MlflowError(f"Registered Model with name={name} not found in the MLflow store {self.path}")
        by_version: dict[str, list[str]] = {}
        for a in self._aliases(name):
            by_version.setdefault(str(a["version"]), []).append(a["alias"])
        return [version_from_json(v, tuple(by_version.get(str(v["version"]), ())))
                for v in sorted(self._versions(name), key=lambda v: -int(v["version"]))]


def page_token_for(offset: int, got: int, asked: int) -> str | None:
    """MLflow's rule: a full page gets a next token (the next page may be empty)."""
    return page_token(offset + got) if got == asked else None


def local_artifacts(artifact_uri: str | None) -> tuple[str, ...] | None:
    """Top-level artifacts of a run whose artifact store is a local folder; None when it is not
    local (the caller asks MLflow's client)."""
    if not artifact_uri:
        return ()
    parts = urlsplit(artifact_uri)
    if parts.scheme == "mlflow-artifacts":  # served by a tracking server this URI does not name: not listable
        return ()
    if parts.scheme not in ("", "file"):
        return None
    folder = Path(unquote(parts.path))
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()))
