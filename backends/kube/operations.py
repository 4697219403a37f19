"""Reads and writes the actions need: describe, logs, quotas, queues, create, delete, patch.

All through KubeApi (JSON, merge-patch for custom objects, explicit propagationPolicy on delete).
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Mapping

from backends.kube.api import MERGE_PATCH, KubeError
from backends.kube.resources import EVENTS, JOBS, PODS, RESOURCEQUOTAS, Resource
from backends.kube.source import KubeSource

PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


class NotInstalled(Exception):
    """A custom resource whose CRD the cluster does not serve."""


async def resource_for(source: KubeSource, api_version: str, kind: str) -> Resource:
    """Map a manifest's apiVersion/kind to a served resource (CRDs checked by discovery)."""
    if (api_version, kind) == ("v1", "Pod"):
        return PODS
    if (api_version, kind) == ("batch/v1", "Job"):
        return JOBS
    plural = {"PyTorchJob": "pytorchjobs", "MPIJob": "mpijobs", "InferenceService": "inferenceservices",
              "LocalQueue": "localqueues"}.get(kind)
    if plural is None:
        raise NotInstalled(f"the cockpit does not manage {kind} ({api_version})")
    res = await source.resource(plural)
    if res is None:
        raise NotInstalled(f"{kind} is not installed on this cluster (no CRD serving {plural}); "
                           "install the operator first (Kubeflow training operator / mpi-operator / KServe)")
    if res.api_version != api_version:
        raise NotInstalled(f"{kind} is served as {res.api_version}, the manifest asks for {api_version}")
    return res


async def create(source: KubeSource, manifest: Mapping[str, Any]) -> dict[str, Any]:
    res = await resource_for(source, manifest.get("apiVersion", ""), manifest.get("kind", ""))
    ns = (manifest.get("metadata") or {}).get("namespace") or "default"
    api = await source.connect()
    return await api.create(res.path(ns), manifest)


async def delete(source: KubeSource, res: Resource, namespace: str, name: str, policy: str) -> dict[str, Any]:
    if policy not in PROPAGATION_POLICIES:
        raise ValueError(f"propagationPolicy must be one of {', '.join(PROPAGATION_POLICIES)}, got {policy!r}")
    api = await source.connect()
    return await api.delete(res.path(namespace, name), policy)


async def merge_patch(source: KubeSource, res: Resource, namespace: str, name: str, patch: Mapping[str, Any],
                      status: bool = False) -> dict[str, Any]:
    api = await source.connect()
    return await api.patch(res.path(namespace, name, "status" if status else None), patch, MERGE_PATCH)


async def get(source: KubeSource, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
    api = await source.connect()
    return await api.get(res.path(namespace, name))


async def events_for(source: KubeSource, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Events whose involvedObject is this object, oldest first (what `kubectl describe` lists)."""
    meta = obj.get("metadata") or {}
    api = await source.connect()
    selector = f"involvedObject.name={meta.get('name')},involvedObject.kind={obj.get('kind', 'Pod')}"
    if meta.get("uid"):
        selector += f",involvedObject.uid={meta['uid']}"
    doc = await api.get(EVENTS.path(meta.get("namespace")), fieldSelector=selector)
    items = doc.get("items") or []
    return sorted(items, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")


async def quotas(source: KubeSource, namespace: str) -> list[dict[str, Any]]:
    api = await source.connect()
    return (await api.get(RESOURCEQUOTAS.path(namespace))).get("items") or []


async def local_queues(source: KubeSource, namespace: str) -> list[str]:
    """Names of Kueue LocalQueues in the namespace (empty when Kueue is not installed)."""
    res = await source.resource("localqueues")
    if res is None:
        return []
    api = await source.connect()
    try:
        doc = await api.get(res.path(namespace))
    except KubeError as exc:
        if exc.status == 404:
            return []
        raise
    return [i["metadata"]["name"] for i in doc.get("items") or []]


async def pod_logs(source: KubeSource, namespace: str, pod: str, container: str | None = None,
                   tail_lines: int | None = 200, follow: bool = False) -> AsyncIterator[str]:
    """Log lines without their trailing newline (the client's stream keeps it)."""
    api = await source.connect()
    query = {"container": container, "tailLines": tail_lines, "follow": "true" if follow else None}
    async for line in api.lines(PODS.path(namespace, pod, "log"), query=query, accept="*/*",
                                read_timeout=None if follow else 60):
        yield line.decode("utf-8", "replace").rstrip("\r\n")
