"""An in-process fake kube-apiserver (aiohttp), for tests and benchmarks.

No kube-apiserver can be installed on the machines this project is tested on, so this fake stands
in for one. It is pinned by contract tests (tests/backends/kube/test_fake_contract.py) to the
behaviour recorded from a real apiextensions-apiserver in
tests/fixtures/kube-apiserver/:

- one global resourceVersion shared by every resource; lists carry the current one;
- watch streams of ADDED / MODIFIED / DELETED (a DELETED object carries the deletion's
  resourceVersion); a watch without resourceVersion or with "0" starts with synthetic ADDED events;
  `sendInitialEvents=true` ends the initial events with a BOOKMARK annotated
  `k8s.io/initial-events-end`; periodic BOOKMARKs only with allowWatchBookmarks (every
  `bookmark_interval` s, 60 s by default like the real server, so a short watch sees none);
- a watch from a compacted resourceVersion answers HTTP 200 with one ERROR event carrying a
  410 Expired Status ("too old resource version: RV (FLOOR)");
- limit/continue paging with the real token format, consistent at the first page's
  resourceVersion; a continue token older than the compaction floor answers 410 Expired;
- label and field selectors, 400 BadRequest when they do not parse or name an unsupported field;
- Status objects for 404 NotFound, 409 AlreadyExists and Conflict (stale resourceVersion),
  422 Invalid with causes, 415 UnsupportedMediaType for strategic-merge patches of custom
  resources, 401 without the bearer token;
- status subresource semantics: writes to the main resource keep status, /status writes change
  only status; generation moves only when spec changes; no-op patches do not bump resourceVersion.

Beyond the recordings (from the Kubernetes API reference, not recorded here): pods, nodes, events,
resourcequotas, namespaces, batch/v1 jobs, the pod log endpoint (container choice, tailLines,
follow), DeleteOptions.propagationPolicy with garbage collection of owned objects (batch/v1 Jobs
orphan their pods when no policy is given, which is why clients must pass one), discovery of the
installed groups. No scheduler or kubelet runs: tests set pod status themselves (`put`,
`patch_status`).

Usage:
    fake = FakeApiServer(token="t0ken")
    await fake.start()
    fake.install_crd(PYTORCHJOB)
    fake.write_kubeconfig(path, context="lab")
    ...
    await fake.stop()
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from aiohttp import web

from tests.fakes.kube_selectors import (
    SelectorError,
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)

META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
POD_FIELDS = META_FIELDS | {
    "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
    "status.phase", "status.podIP", "status.nominatedNodeName",
}
EVENT_FIELDS = META_FIELDS | {
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
    "reason", "reportingComponent", "source", "type",
}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PATCH_TYPES_CUSTOM = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    custom: bool = False  # served by a CRD: no strategic merge patch
    fields: frozenset[str] = META_FIELDS
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """How the real server names the resource in messages: 'pytorchjobs.kubeflow.org', 'pods'."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_qualified(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


POD = ResourceType("", "v1", "pods", "Pod", fields=POD_FIELDS, short_names=("po",))
NODE = ResourceType("", "v1", "nodes", "Node", namespaced=False, fields=META_FIELDS | {"spec.unschedulable"})
NAMESPACE = ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, fields=META_FIELDS | {"status.phase"})
EVENT = ResourceType("", "v1", "events", "Event", fields=EVENT_FIELDS)
RESOURCEQUOTA = ResourceType("", "v1", "resourcequotas", "ResourceQuota")
JOB = ResourceType("batch", "v1", "jobs", "Job", fields=META_FIELDS | {"status.successful"})
PYTORCHJOB = ResourceType("kubeflow.org", "v1", "pytorchjobs", "PyTorchJob", custom=True)
MPIJOB_V2 = ResourceType("kubeflow.org", "v2beta1", "mpijobs", "MPIJob", custom=True)
MPIJOB_V1 = ResourceType("kubeflow.org", "v1", "mpijobs", "MPIJob", custom=True)
INFERENCESERVICE = ResourceType("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService",
                                custom=True, short_names=("isvc",))
LOCALQUEUE = ResourceType("kueue.x-k8s.io", "v1beta1", "localqueues", "LocalQueue", custom=True)
WORKLOAD = ResourceType("kueue.x-k8s.io", "v1beta1", "workloads", "Workload", custom=True)
BUILTIN = (POD, NODE, NAMESPACE, EVENT, RESOURCEQUOTA, JOB)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, reason, message, details)


def _details(rt: ResourceType, name: str, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name}
    if rt.group:
        d["group"] = rt.group
    d["kind"] = rt.plural
    d.update(extra)
    return d


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found', _details(rt, name))


def invalid(rt: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 with causes: (field, reason, message) as the real server builds them."""
    text = ", ".join(f"{f}: {m}" for f, _, m in causes)
    if len(causes) > 1:
        text = "[" + text + "]"
    details: dict[str, Any] = {"name": name}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.kind
    details["causes"] = [{"reason": r, "message": m, "field": f} for f, r, m in causes]
    return ApiError(422, "Invalid", f'{rt.kind_qualified} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 (add, remove, replace, test, copy, move) for the fake's needs."""
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1] if parts else None
        if kind == "test":
            cur = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if cur != op.get("value"):
                raise ValueError(f"testing value {op.get('path')} failed")
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                idx = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(idx, op["value"])
                else:
                    parent[idx] = op["value"]
            else:
                if kind == "replace" and last not in parent:
                    raise ValueError(f"replace operation does not apply: doc is missing key: {op.get('path')}")
                parent[last] = op["value"]
        elif kind == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            elif last in parent:
                del parent[last]
            else:
                raise ValueError(f"remove operation does not apply: doc is missing path: {op.get('path')}")
        else:
            raise ValueError(f"unsupported JSON patch operation {kind!r}")
    return doc


def fields_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """A FieldsV1 set like the real server records in managedFields (lists are atomic here)."""

    def walk(value: Any, top: bool = False) -> dict[str, Any]:
        if not isinstance(value, dict):
            return {}
        out: dict[str, Any] = {} if top else {".": {}}
        for k, v in value.items():
            out[f"f:{k}"] = walk(v)
        return out

    out: dict[str, Any] = {}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k in ("labels", "annotations", "ownerReferences")}
    if meta:
        out["f:metadata"] = walk(meta, top=True)
    for section in ("spec", "data"):
        if section in obj:
            out[f"f:{section}"] = walk(obj[section])
    return out


@dataclass
class Watcher:
    rt: ResourceType
    namespace: str | None
    labels: list[Any]
    fields: list[Any]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return labels_match(self.labels, obj) and fields_match(self.fields, obj)


class FakeApiServer:
    def __init__(self, *, token: str | None = "fake-token", initial_rv: int = 10) -> None:
        self.token = token
        self.rv = initial_rv
        # Watches from a resourceVersion below this are answered with 410 Expired.
        self.floor_rv = initial_rv
        self.types: dict[tuple[str, str], ResourceType] = {rt.store_key: rt for rt in BUILTIN}
        self.store: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {
            rt.store_key: {} for rt in BUILTIN}
        self.history: list[tuple[int, tuple[str, str], str, dict[str, Any], dict[str, Any] | None]] = []
        self.watchers: list[Watcher] = []
        self.logs: dict[tuple[str, str, str], list[str]] = {}
        self.log_followers: dict[tuple[str, str, str], list[asyncio.Queue]] = {}
        self.continue_snapshots: dict[tuple[int, str], list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, content type) for assertions
        self.deletions: list[dict[str, Any]] = []  # what each DELETE asked for (propagationPolicy)
        self.bookmark_interval = 60.0
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._streams: set[web.StreamResponse] = set()
        # The default namespace exists from the start and takes the initial resourceVersion.
        self.rv = initial_rv - 1
        self.put(NAMESPACE, {"metadata": {"name": "default"}, "status": {"phase": "Active"}})
        self.history.clear()

    # -- lifecycle ----------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def start(self, port: int = 0) -> "FakeApiServer":
        self._runner = web.AppRunner(self.app(), handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", port or self.port)
        await self._site.start()
        self.port = self._site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self.drop_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def drop_watches(self) -> None:
        """Close every open watch and log stream, as an apiserver restart would."""
        for w in list(self.watchers):
            w.queue.put_nowait(None)
        for followers in self.log_followers.values():
            for q in followers:
                q.put_nowait(None)
        await asyncio.sleep(0)

    def write_kubeconfig(self, path: Path, *, context: str = "fake", namespace: str | None = None,
                         server: str | None = None) -> Path:
        ctx: dict[str, Any] = {"cluster": "fake-cluster", "user": "fake-user"}
        if namespace:
            ctx["namespace"] = namespace
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake-cluster", "cluster": {"server": server or self.url}}],
            "contexts": [{"name": context, "context": ctx}],
            "users": [{"name": "fake-user", "user": user}],
        }
        path.write_text(json.dumps(doc, indent=1))
        return path

    # -- resource types -----------------------------------------------------------------------
    def install_crd(self, rt: ResourceType) -> None:
        self.types[rt.store_key] = rt
        self.store.setdefault(rt.store_key, {})

    def uninstall_crd(self, rt: ResourceType) -> None:
        self.types.pop(rt.store_key, None)
        self.store.pop(rt.store_key, None)

    def _type_for(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self.types.get((group, plural))
        if rt is None or rt.version != version:
            return None
        return rt

    # -- direct state manipulation (tests play scheduler, kubelet and operators) -----------
    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _commit(self, rt: ResourceType, etype: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        self.history.append((self.rv, rt.store_key, etype, obj, old))
        for w in self.watchers:
            if w.rt.store_key != rt.store_key:
                continue
            new_match, old_match = w.matches(obj), w.matches(old)
            if etype == "DELETED":
                if new_match or old_match:
                    w.queue.put_nowait(("DELETED", obj))
            elif new_match and old_match:
                w.queue.put_nowait(("MODIFIED", obj))
            elif new_match:
                w.queue.put_nowait(("ADDED", obj))
            elif old_match:  # moved out of the selector: the watcher sees it go
                w.queue.put_nowait(("DELETED", obj))

    def put(self, rt: ResourceType, obj: dict[str, Any], namespace: str | None = "default") -> dict[str, Any]:
        """Create or replace an object as a controller would (no validation, no rv check)."""
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            meta.setdefault("namespace", namespace or "default")
        else:
            meta.pop("namespace", None)
        key = (meta.get("namespace", ""), meta["name"])
        bucket = self.store[rt.store_key]
        old = bucket.get(key)
        if old is not None:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            meta.setdefault("generation", old["metadata"].get("generation", 1))
        else:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_iso())
            if rt.custom or rt.group:
                meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(self._next_rv())
        bucket[key] = obj
        self._commit(rt, "MODIFIED" if old is not None else "ADDED", obj, old)
        return obj

    def get(self, rt: ResourceType, name: str, namespace: str | None = "default") -> dict[str, Any] | None:
        return self.store[rt.store_key].get((namespace if rt.namespaced else "", name))

    def patch_status(self, rt: ResourceType, name: str, status: dict[str, Any],
                     namespace: str | None = "default") -> dict[str, Any]:
        obj = copy.deepcopy(self.get(rt, name, namespace))
        if obj is None:
            raise KeyError(name)
        obj["status"] = merge_patch(obj.get("status") or {}, status)
        return self.put(rt, obj, namespace)

    def remove(self, rt: ResourceType, name: str, namespace: str | None = "default") -> None:
        key = (namespace if rt.namespaced else "", name)
        obj = self.store[rt.store_key].pop(key)
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self._next_rv())
        self._commit(rt, "DELETED", obj, None)
        if rt is POD or rt.store_key == POD.store_key:
            for ckey in [k for k in self.logs if k[:2] == key]:
                for q in self.log_followers.pop(ckey, []):
                    q.put_nowait(None)

    def compact(self) -> None:
        """Forget history, as etcd compaction does: older resourceVersions now answer 410."""
        self.floor_rv = self.rv
        self.history.clear()
        self.continue_snapshots.clear()

    def append_log(self, namespace: str, pod: str, container: str, *lines: str) -> None:
        key = (namespace, pod, container)
        self.logs.setdefault(key, []).extend(lines)
        for q in self.log_followers.get(key, []):
            for line in lines:
                q.put_nowait(line)

    def add_event(self, involved: dict[str, Any], reason: str, message: str, type_: str = "Normal",
                  count: int = 1) -> dict[str, Any]:
        meta = involved["metadata"]
        name = f"{meta['name']}.{uuid.uuid4().hex[:16]}"
        return self.put(EVENT, {
            "metadata": {"name": name, "namespace": meta.get("namespace", "default")},
            "involvedObject": {"kind": involved.get("kind"), "name": meta["name"],
                               "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                               "apiVersion": involved.get("apiVersion")},
            "reason": reason, "message": message, "type": type_, "count": count,
            "firstTimestamp": now_iso(), "lastTimestamp": now_iso(),
            "source": {"component": "fake"},
        }, meta.get("namespace", "default"))

    # -- HTTP ---------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path, request.headers.get("Content-Type", "")))
        try:
            if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            return await self._route(request)
        except ApiError as exc:
            return web.json_response(exc.body, status=exc.code)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["api"]:
            return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                      "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                      "serverAddress": f"127.0.0.1:{self.port}"}]})
        if parts == ["apis"]:
            return web.json_response(self._group_list())
        if parts == ["version"]:
            return web.json_response({"major": "1", "minor": "36", "gitVersion": "v1.36.4-fake"})
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if not rest:
            return web.json_response(self._resource_list(group, version))
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        rt = self._type_for(group, version, plural)
        if rt is None or len(rest) > 3 or (namespace is not None and not rt.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        method = request.method
        if name is None:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, rt, namespace)
                return web.json_response(self._list(request, rt, namespace))
            if method == "POST":
                obj = self._create(rt, namespace, await self._json_body(request), request)
                return web.json_response(obj, status=201)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if sub == "log" and rt is POD and method == "GET":
            return await self._log(request, namespace or "default", name)
        if sub not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if method == "GET":
            obj = self.get(rt, name, namespace)
            if obj is None:
                raise not_found(rt, name)
            return web.json_response(obj)
        if method == "PUT":
            return web.json_response(self._replace(rt, namespace, name, await self._json_body(request), sub, request))
        if method == "PATCH":
            return web.json_response(await self._patch(request, rt, namespace, name, sub))
        if method == "DELETE":
            body = await self._json_body(request, allow_empty=True) or {}
            return web.json_response(self._delete(rt, namespace, name, body, request))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    async def _json_body(self, request: web.Request, allow_empty: bool = False) -> Any:
        raw = await request.read()
        if not raw.strip():
            if allow_empty:
                return None
            raise bad_request("the body of the request was empty")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"the object provided is unrecognized (must be of type JSON): {exc}") from None

    # -- discovery ----------------------------------------------------------------------------
    def _group_list(self) -> dict[str, Any]:
        groups: dict[str, list[str]] = {}
        for rt in self.types.values():
            if rt.group:
                versions = groups.setdefault(rt.group, [])
                if rt.version not in versions:
                    versions.append(rt.version)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
             "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
            for g, vs in sorted(groups.items())]}

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        rts = [rt for rt in self.types.values() if rt.group == group and rt.version == version]
        if not rts:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        resources = []
        for rt in rts:
            resources.append({"name": rt.plural, "singularName": rt.kind.lower(), "namespaced": rt.namespaced,
                              "kind": rt.kind, "shortNames": list(rt.short_names),
                              "verbs": ["delete", "deletecollection", "get", "list", "patch", "create",
                                        "update", "watch"]})
            resources.append({"name": f"{rt.plural}/status", "singularName": "", "namespaced": rt.namespaced,
                              "kind": rt.kind, "verbs": ["get", "patch", "update"]})
            if rt is POD:
                resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                                  "verbs": ["get"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

    # -- list ---------------------------------------------------------------------------------
    def _selected(self, request: web.Request, rt: ResourceType, namespace: str | None) -> list[dict[str, Any]]:
        try:
            labels = parse_label_selector(request.query.get("labelSelector"))
            fields = parse_field_selector(request.query.get("fieldSelector"), rt.fields)
        except SelectorError as exc:
            raise bad_request(str(exc)) from None
        out = []
        for (ns, _), obj in sorted(self.store[rt.store_key].items()):
            if namespace is not None and ns != namespace:
                continue
            if labels_match(labels, obj) and fields_match(fields, obj):
                out.append(obj)
        return out

    def _list(self, request: web.Request, rt: ResourceType, namespace: str | None) -> dict[str, Any]:
        q = request.query
        selected = bool(q.get("labelSelector") or q.get("fieldSelector"))
        token = q.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
                list_rv, start = int(state["rv"]), str(state["start"])
                if state.get("v") != "meta.k8s.io/v1":
                    raise ValueError("bad version")
            except Exception:
                raise bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                  "(version meta.k8s.io/v1)") from None
            snapshot_key = (list_rv, f"{rt.store_key}|{namespace}|{q.get('labelSelector')}|{q.get('fieldSelector')}")
            if list_rv < self.floor_rv or snapshot_key not in self.continue_snapshots:
                raise ApiError(410, "Expired",
                               "The provided continue parameter is too old to display a consistent list result. "
                               "You can start a new list without the continue parameter, or use the continue "
                               "token in this response to retrieve the remainder of the results. Continuing "
                               "with the provided token results in an inconsistent list - objects that were "
                               "created, modified, or deleted between the time the first chunk was returned "
                               "and now may show up in the list.")
            items = self.continue_snapshots[snapshot_key]
            items = [o for o in items if self._rel_key(rt, namespace, o) + "\x00" > start]
        else:
            list_rv = self.rv
            items = self._selected(request, rt, namespace)
            snapshot_key = (list_rv, f"{rt.store_key}|{namespace}|{q.get('labelSelector')}|{q.get('fieldSelector')}")
        meta: dict[str, Any] = {"continue": "", "resourceVersion": str(list_rv)}
        limit = int(q.get("limit") or 0)
        if limit > 0 and len(items) > limit:
            page, rest = items[:limit], items[limit:]
            self.continue_snapshots[snapshot_key] = [copy.deepcopy(o) for o in items] if not token else \
                self.continue_snapshots[snapshot_key]
            start = self._rel_key(rt, namespace, page[-1]) + "\x00"
            raw = json.dumps({"v": "meta.k8s.io/v1", "rv": list_rv, "start": start}, separators=(",", ":"))
            meta["continue"] = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
            if not selected:
                meta["remainingItemCount"] = len(rest)
            items = page
        return {"apiVersion": rt.api_version, "items": items, "kind": f"{rt.kind}List", "metadata": meta}

    @staticmethod
    def _rel_key(rt: ResourceType, namespace: str | None, obj: dict[str, Any]) -> str:
        meta = obj["metadata"]
        if rt.namespaced and namespace is None:
            return f"/{meta['namespace']}/{meta['name']}"
        return f"/{meta['name']}"

    # -- watch --------------------------------------------------------------------------------
    async def _watch(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.StreamResponse:
        q = request.query
        try:
            labels = parse_label_selector(q.get("labelSelector"))
            fields = parse_field_selector(q.get("fieldSelector"), rt.fields)
        except SelectorError as exc:
            raise bad_request(str(exc)) from None
        rv_text = q.get("resourceVersion", "")
        initial_events = q.get("sendInitialEvents") == "true"
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        if initial_events and not (bookmarks and q.get("resourceVersionMatch") == "NotOlderThan"):
            raise invalid(rt, "", [("resourceVersionMatch", "FieldValueForbidden",
                                    "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                                    "NotOlderThan and allowWatchBookmarks")])
        try:
            rv = int(rv_text) if rv_text else None
        except ValueError:
            raise bad_request(f"resourceVersion: Invalid value: \"{rv_text}\": must be a number") from None
        timeout = float(q.get("timeoutSeconds") or 1800)
        watcher = Watcher(rt, namespace, labels, fields)
        backlog: list[tuple[str, dict[str, Any]]] = []
        expired = None
        if initial_events or rv in (None, 0):
            for obj in self._selected_objects(rt, namespace, labels, fields):
                backlog.append(("ADDED", obj))
            if initial_events:
                backlog.append(("BOOKMARK", {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {
                    "annotations": {"k8s.io/initial-events-end": "true"}, "resourceVersion": str(self.rv)}}))
        elif rv < self.floor_rv:
            expired = status_body(410, "Expired", f"too old resource version: {rv} ({self.floor_rv})")
        else:
            for erv, key, etype, obj, old in self.history:
                if erv <= rv or key != rt.store_key:
                    continue
                new_m, old_m = watcher.matches(obj), watcher.matches(old)
                if etype == "DELETED" and (new_m or old_m):
                    backlog.append(("DELETED", obj))
                elif new_m:
                    backlog.append(("MODIFIED" if old is not None and old_m else "ADDED", obj))
                elif old_m:
                    backlog.append(("DELETED", obj))
        # Registered in the same step as the backlog was read, before the first await: a change
        # committed while the response is being prepared must reach this watch, as it would on
        # the real apiserver (it was lost here, and a watch test failed under load).
        if expired is None:
            self.watchers.append(watcher)
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(request)
        except BaseException:
            if watcher in self.watchers:
                self.watchers.remove(watcher)
            raise
        if expired is not None:
            await resp.write(json.dumps({"type": "ERROR", "object": expired}).encode() + b"\n")
            await resp.write_eof()
            return resp
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            if backlog:
                await resp.write(b"".join(json.dumps({"type": t, "object": o}).encode() + b"\n" for t, o in backlog))
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                wait = min(remaining, self.bookmark_interval) if bookmarks else remaining
                try:
                    event = await asyncio.wait_for(watcher.queue.get(), wait)
                except asyncio.TimeoutError:
                    if bookmarks and loop.time() < deadline:
                        await resp.write(json.dumps({"type": "BOOKMARK", "object": {
                            "apiVersion": rt.api_version, "kind": rt.kind,
                            "metadata": {"resourceVersion": str(self.rv)}}}).encode() + b"\n")
                    continue
                if event is None:  # dropped by the test
                    break
                chunk, stop = [event], False
                while not watcher.queue.empty():  # send what queued up in one write
                    nxt = watcher.queue.get_nowait()
                    if nxt is None:
                        stop = True
                        break
                    chunk.append(nxt)
                await resp.write(b"".join(json.dumps({"type": t, "object": o}).encode() + b"\n" for t, o in chunk))
                if stop:
                    break
        except (ConnectionResetError, asyncio.CancelledError, RuntimeError):
            pass
        finally:
            if watcher in self.watchers:
                self.watchers.remove(watcher)
        try:
            await resp.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass
        return resp

    def _selected_objects(self, rt, namespace, labels, fields) -> Iterable[dict[str, Any]]:
        for (ns, _), obj in sorted(self.store[rt.store_key].items()):
            if (namespace is None or ns == namespace) and labels_match(labels, obj) and fields_match(fields, obj):
                yield obj

    # -- writes -------------------------------------------------------------------------------
    def _manager(self, request: web.Request) -> str:
        ua = request.headers.get("User-Agent", "unknown")
        return ua.split("/")[0] or "unknown"

    def _validate(self, rt: ResourceType, obj: dict[str, Any], name: str) -> None:
        causes = []
        if not name:
            causes.append(("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
        elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
            causes.append(("metadata.name", "FieldValueInvalid",
                           f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                           "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                           "character (e.g. 'example.com', regex used for validation is "
                           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
        if rt is POD and not ((obj.get("spec") or {}).get("containers")):
            causes.append(("spec.containers", "FieldValueRequired", "Required value"))
        if rt is JOB and not ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers"):
            causes.append(("spec.template.spec.containers", "FieldValueRequired", "Required value"))
        if causes:
            raise invalid(rt, name, causes)

    def _create(self, rt: ResourceType, namespace: str | None, body: Any, request: web.Request) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be of type object)")
        if body.get("apiVersion") not in (None, rt.api_version) or body.get("kind") not in (None, rt.kind):
            raise bad_request(f"the API version in the data ({body.get('apiVersion')}) does not match the expected "
                              f"API version ({rt.api_version})")
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            if meta.get("namespace") not in (None, namespace):
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            meta["namespace"] = namespace
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name") or ""
        self._validate(rt, obj, name)
        if rt.namespaced and self.get(NAMESPACE, namespace or "", None) is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if self.get(rt, name, namespace) is not None:
            raise ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', _details(rt, name))
        for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
            meta.pop(k, None)
        if rt.custom:
            obj.pop("status", None)  # status subresource: create ignores status
        meta["managedFields"] = [{"apiVersion": rt.api_version, "fieldsType": "FieldsV1",
                                  "fieldsV1": fields_v1(obj), "manager": self._manager(request),
                                  "operation": "Update", "time": now_iso()}]
        return self.put(rt, obj, namespace)

    def _write(self, rt: ResourceType, namespace: str | None, old: dict[str, Any], new: dict[str, Any],
               sub: str | None, request: web.Request) -> dict[str, Any]:
        """Apply status-subresource rules, generation, managedFields; commit if anything changed."""
        new = copy.deepcopy(new)
        if sub == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        else:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        meta = new.setdefault("metadata", {})
        for k in ("uid", "creationTimestamp", "namespace", "name", "generation", "managedFields"):
            if k in old["metadata"]:
                meta[k] = old["metadata"][k]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old  # no-op: the real server does not bump resourceVersion
        if new.get("spec") != old.get("spec") and "generation" in meta:
            meta["generation"] = int(meta["generation"]) + 1
        entry = {"apiVersion": rt.api_version, "fieldsType": "FieldsV1",
                 "fieldsV1": ({"f:status": {".": {}, **{f"f:{k}": {} for k in (new.get('status') or {})}}}
                              if sub == "status" else fields_v1(new)),
                 "manager": self._manager(request), "operation": "Update", "time": now_iso()}
        if sub == "status":
            entry["subresource"] = "status"
        managed = [m for m in meta.get("managedFields", [])
                   if not (m.get("manager") == entry["manager"] and m.get("subresource") == entry.get("subresource"))]
        meta["managedFields"] = managed + [entry]
        return self.put(rt, new, namespace)

    def _conflict(self, rt: ResourceType, name: str) -> ApiError:
        return ApiError(409, "Conflict",
                        f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has been modified; '
                        "please apply your changes to the latest version and try again", _details(rt, name))

    def _replace(self, rt: ResourceType, namespace: str | None, name: str, body: Any, sub: str | None,
                 request: web.Request) -> dict[str, Any]:
        old = self.get(rt, name, namespace)
        if old is None:
            raise not_found(rt, name)
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be of type object)")
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if not rv:
            raise invalid(rt, name, [("metadata.resourceVersion", "FieldValueInvalid",
                                      "Invalid value: 0x0: must be specified for an update")])
        if str(rv) != old["metadata"]["resourceVersion"]:
            raise self._conflict(rt, name)
        if (body.get("metadata") or {}).get("name") not in (None, name):
            raise bad_request("the name of the object does not match the name on the URL")
        return self._write(rt, namespace, old, body, sub, request)

    async def _patch(self, request: web.Request, rt: ResourceType, namespace: str | None, name: str,
                     sub: str | None) -> dict[str, Any]:
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        unknown = ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types include: "
                           + (PATCH_TYPES_CUSTOM if rt.custom else
                              "application/json-patch+json, application/merge-patch+json, "
                              "application/apply-patch+yaml, application/strategic-merge-patch+json"))
        if ctype not in ("application/merge-patch+json", "application/json-patch+json",
                         "application/strategic-merge-patch+json"):
            raise unknown
        if ctype == "application/strategic-merge-patch+json" and rt.custom:
            raise unknown
        old = self.get(rt, name, namespace)
        if old is None:
            raise not_found(rt, name)
        patch = await self._json_body(request)
        try:
            if ctype == "application/json-patch+json":
                if not isinstance(patch, list):
                    raise ValueError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
                new = json_patch(old, patch)
            else:
                # Strategic merge on built-in types is approximated by a merge patch here.
                if not isinstance(patch, dict):
                    raise ValueError("json: cannot unmarshal array into Go value of type map[string]interface {}")
                new = merge_patch(old, patch)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ApiError(422, "Invalid" if ctype != "application/json-patch+json" else "UnprocessableEntity",
                           str(exc)) from None
        patched_rv = (new.get("metadata") or {}).get("resourceVersion")
        if patched_rv is not None and str(patched_rv) != old["metadata"]["resourceVersion"]:
            raise self._conflict(rt, name)
        self._validate(rt, new, name)
        return self._write(rt, namespace, old, new, sub, request)

    def _delete(self, rt: ResourceType, namespace: str | None, name: str, body: dict[str, Any],
                request: web.Request) -> dict[str, Any]:
        obj = self.get(rt, name, namespace)
        if obj is None:
            raise not_found(rt, name)
        policy = body.get("propagationPolicy") or request.query.get("propagationPolicy")
        if policy is not None and policy not in ("Foreground", "Background", "Orphan"):
            raise invalid(rt, "", [("propagationPolicy", "FieldValueNotSupported",
                                    f'Unsupported value: "{policy}": supported values: "Foreground", '
                                    '"Background", "Orphan"')])
        self.deletions.append({"resource": rt.qualified, "namespace": namespace, "name": name, "policy": policy})
        # batch/v1 Jobs keep the legacy default (orphan the pods) when no policy is given.
        effective = policy or ("Orphan" if rt.store_key == JOB.store_key else "Background")
        uid = obj["metadata"]["uid"]
        self.remove(rt, name, namespace)
        self._collect_garbage(uid, effective)
        if rt.store_key == POD.store_key:
            gone = copy.deepcopy(obj)
            gone["metadata"]["deletionTimestamp"] = now_iso()
            gone["metadata"]["deletionGracePeriodSeconds"] = 0
            return gone
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": _details(rt, name, uid=uid)}

    def _collect_garbage(self, owner_uid: str, policy: str) -> None:
        for key, bucket in list(self.store.items()):
            rt = self.types[key]
            for (ns, name), obj in list(bucket.items()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                if policy == "Orphan":
                    kept = copy.deepcopy(obj)
                    kept["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
                    if not kept["metadata"]["ownerReferences"]:
                        del kept["metadata"]["ownerReferences"]
                    self.put(rt, kept, ns or None)
                else:
                    child_uid = obj["metadata"]["uid"]
                    self.remove(rt, name, ns or None)
                    self._collect_garbage(child_uid, policy)

    # -- pod logs -----------------------------------------------------------------------------
    async def _log(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        pod = self.get(POD, name, namespace)
        if pod is None:
            raise not_found(POD, name)
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers", [])]
        container = request.query.get("container")
        if not container:
            if len(containers) != 1:
                raise bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                  f"[{' '.join(containers)}]")
            container = containers[0]
        elif container not in containers:
            raise bad_request(f'container {container} is not valid for pod {name}')
        key = (namespace, name, container)
        lines = list(self.logs.get(key, []))
        tail = request.query.get("tailLines")
        if tail is not None:
            lines = lines[-int(tail):] if int(tail) > 0 else []
        follow = request.query.get("follow") in ("true", "1")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        if lines:
            await resp.write("".join(line + "\n" for line in lines).encode())
        if follow:
            queue: asyncio.Queue = asyncio.Queue()
            self.log_followers.setdefault(key, []).append(queue)
            try:
                while True:
                    line = await queue.get()
                    if line is None:
                        break
                    await resp.write((line + "\n").encode())
            except (ConnectionResetError, asyncio.CancelledError, RuntimeError):
                pass
            finally:
                with_q = self.log_followers.get(key, [])
                if queue in with_q:
                    with_q.remove(queue)
        try:
            await resp.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass
        return resp


async def started(**kwargs: Any) -> FakeApiServer:
    return await FakeApiServer(**kwargs).start()
