"""MLflow reads over its REST API (2.0) with httpx: no `import mlflow`, no worker thread.

Endpoints and field names are MLflow's own (mlflow/protos/service.proto and
model_registry.proto, MLflow 3.x; the same since 2.x for what is read here):

    POST experiments/search     GET experiments/get       POST runs/search      GET runs/get
    GET  metrics/get-history    GET artifacts/list        GET  registered-models/search
    GET  registered-models/get  GET model-versions/search

Credentials follow MLflow's client: MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD (or
user:password@ in the URI) as basic auth, else MLFLOW_TRACKING_TOKEN as a bearer token. They go in a
header only: the base URL keeps no userinfo, so nothing httpx logs and no error text carries them.
MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH and MLFLOW_HTTP_REQUEST_TIMEOUT
are honoured as the MLflow client honours them.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from backends.mlflow.convert import (
    experiment_from_json, model_from_json, point_from_json, run_from_json, version_from_json,
)
from backends.mlflow.errors import MlflowError, redact_uri
from backends.mlflow.http import httpx
from backends.mlflow.models import ExperimentItem, MetricPoint, ModelVersionItem, RegisteredModelItem, RunDetail, RunItem

API = "/api/2.0/mlflow/"
DEFAULT_TIMEOUT = 30.0  # seconds for an answer (a 1,000-run page on a busy server); MLFLOW_HTTP_REQUEST_TIMEOUT wins
CONNECT_TIMEOUT = 5.0  # a host that does not accept the connection fails fast


def split_credentials(uri: str, env: Mapping[str, str]) -> tuple[str, httpx.Auth | None, dict[str, str]]:
    """(base URL without userinfo, basic auth or None, extra headers) the way MLflow's client
    picks them: username+password first, then a token."""
    parts = urlsplit(uri)
    user, password = parts.username, parts.password
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if ":" in (parts.hostname or ""):  # IPv6 literal
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    user = env.get("MLFLOW_TRACKING_USERNAME") or user
    password = env.get("MLFLOW_TRACKING_PASSWORD") or password
    if user and password:
        return base, httpx.BasicAuth(user, password), {}
    token = env.get("MLFLOW_TRACKING_TOKEN")
    return base, None, ({"Authorization": f"Bearer {token}"} if token else {})


def _verify(env: Mapping[str, str]) -> bool | str:
    if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("true", "1"):
        return False
    return env.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or True


class RestReader:
    """The read endpoints of one tracking server. One httpx.AsyncClient per event loop (kept
    alive across pages, so paging reuses the connection)."""

    def __init__(self, uri: str, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.uri = uri
        self.shown = redact_uri(uri)
        self.base, self._auth, self._headers = split_credentials(uri, env)
        self._verify = _verify(env)
        self._timeout = float(env.get("MLFLOW_HTTP_REQUEST_TIMEOUT") or DEFAULT_TIMEOUT)
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(base_url=self.base + API, auth=self._auth, headers=self._headers,
                                             verify=self._verify,
                                             timeout=httpx.Timeout(self._timeout, connect=min(CONNECT_TIMEOUT, self._timeout)))
            self._loop = loop
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()

    async def request(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None,
                      body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One call; every failure becomes an MlflowError with one line naming the server (redacted)."""
        try:
            response = await self._http().request(method, endpoint, params=params, json=body)
        except httpx.ConnectError as exc:
            text = str(exc)
            if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
                raise MlflowError(f"MLflow server host in {self.shown} cannot be resolved") from None
            raise MlflowError(f"MLflow server at {self.shown} is not reachable ({text or 'connection failed'}): "
                              f"is `mlflow server` running?") from None
        except httpx.TimeoutException:
            raise MlflowError(f"MLflow server at {self.shown} did not answer within {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise MlflowError(f"MLflow ({self.shown}): {type(exc).__name__}: {exc}") from None
        if response.is_success:
            try:
                return response.json() if response.content else {}
            except ValueError:
                raise MlflowError(f"MLflow ({self.shown}) {endpoint}: the answer is not JSON "
                                  f"(is {self.shown} an MLflow tracking server?)") from None
        raise MlflowError(self._explain(response, endpoint))

    def _explain(self, response: httpx.Response, endpoint: str) -> str:
        try:
            doc = response.json()
        except ValueError:
            doc = {}
        code = doc.get("error_code") if isinstance(doc, dict) else None
        message = (doc.get("message") if isinstance(doc, dict) else None) or response.reason_phrase
        if response.status_code in (401, 403):
            return (f"MLflow ({self.shown}) refused {endpoint}: HTTP {response.status_code} {message} "
                    f"(set MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN)")
        return f"MLflow ({self.shown}) {endpoint}: {code or f'HTTP {response.status_code}'}: {message}"

    # -- the reads ---------------------------------------------------------------------------
    async def experiments(self) -> list[ExperimentItem]:
        out: list[ExperimentItem] = []
        token = None
        while True:
            body: dict[str, Any] = {"max_results": 1000}
            if token:
                body["page_token"] = token
            doc = await self.request("POST", "experiments/search", body=body)
            out.extend(experiment_from_json(e) for e in doc.get("experiments", ()))
            if not (token := doc.get("next_page_token")):
                return out

    async def experiment_name(self, experiment_id: str) -> str:
        doc = await self.request("GET", "experiments/get", params={"experiment_id": experiment_id})
        return str(doc["experiment"]["name"])

    async def search_runs(self, experiment_ids: list[str], names: Mapping[str, str], *, filter_string: str = "",
                          order_by: list[str] | None = None, page_token: str | None = None,
                          max_results: int = 100) -> tuple[list[RunItem], str | None]:
        body: dict[str, Any] = {"experiment_ids": experiment_ids, "max_results": max_results,
                                "order_by": order_by or ["attributes.start_time DESC"]}
        if filter_string:
            body["filter"] = filter_string
        if page_token:
            body["page_token"] = page_token
        doc = await self.request("POST", "runs/search", body=body)
        return [run_from_json(r, names) for r in doc.get("runs", ())], doc.get("next_page_token") or None

    async def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        points: list[MetricPoint] = []
        token = None
        while True:
            params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25000}
            if token:
                params["page_token"] = token
            doc = await self.request("GET", "metrics/get-history", params=params)
            points.extend(point_from_json(m) for m in doc.get("metrics", ()))
            if not (token := doc.get("next_page_token")):
                return sorted(points, key=lambda p: (p.step, p.timestamp))

    async def run_detail(self, run_id: str, names: dict[str, str]) -> RunDetail:
        run = (await self.request("GET", "runs/get", params={"run_id": run_id}))["run"]
        experiment_id = str(run["info"]["experiment_id"])
        if experiment_id not in names:
            names[experiment_id] = await self.experiment_name(experiment_id)
        try:
            listed = await self.request("GET", "artifacts/list", params={"run_id": run_id})
            artifacts = tuple(f["path"] + ("/" if f.get("is_dir") else "") for f in listed.get("files", ()))
        except MlflowError:  # artifact store unreachable: the run itself still shows
            artifacts = ()
        tags = {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", ())}
        return RunDetail(run=run_from_json(run, names), all_tags=tags, artifact_uri=run["info"].get("artifact_uri"),
                         artifacts=artifacts)

    async def registered_models(self) -> list[RegisteredModelItem]:
        out: list[RegisteredModelItem] = []
        token = None
        while True:
            params: dict[str, Any] = {"max_results": 1000}
            if token:
                params["page_token"] = token
            doc = await self.request("GET", "registered-models/search", params=params)
            out.extend(model_from_json(m) for m in doc.get("registered_models", ()))
            if not (token := doc.get("next_page_token")):
                return out

    async def model_versions(self, name: str) -> list[ModelVersionItem]:
        model = (await self.request("GET", "registered-models/get", params={"name": name}))["registered_model"]
        by_version: dict[str, list[str]] = {}
        for alias in model.get("aliases", ()):
            by_version.setdefault(str(alias["version"]), []).append(alias["alias"])
        safe = name.replace("'", "\\'")
        versions: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {"filter": f"name = '{safe}'", "max_results": 200}
            if token:
                params["page_token"] = token
            doc = await self.request("GET", "model-versions/search", params=params)
            versions.extend(doc.get("model_versions", ()))
            if not (token := doc.get("next_page_token")):
                break
        return [version_from_json(v, tuple(by_version.get(str(v["version"]), ())))
                for v in sorted(versions, key=lambda v: -int(v["version"]))]
