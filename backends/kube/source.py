"""The `kubernetes` source: pods (items), nodes with GPUs, training jobs and inference services.

Event-driven: `watch` runs list-then-watch informers and pushes a new result shortly after each
change (changes arriving within `coalesce_s` share one push). `fetch` answers from the informers'
caches while they are healthy, raises while the apiserver is unreachable (the pane shows the error
and keeps the last rows, marked stale), and lists everything once when nothing watches (one-shot
CLI). A custom resource whose CRD is not installed is left out and named in the `crds` section.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from backends.kube.api import KubeApi, KubeConfigError
from backends.kube.informer import Informer, uid_of
from backends.kube.models import InferenceServiceItem, NodeItem, PodItem, TrainingJobItem, WorkloadItem
from backends.kube.resources import CANDIDATES, JOBS, NODES, PODS, Resource, discover
from cockpit import kube_status as ks
from cockpit.source_types import NotConfigured, env_value
from cockpit.snapshot import FetchResult

if TYPE_CHECKING:
    from backends.kube.settings import KubeSettings
    from cockpit.config import LoadedConfig

log = logging.getLogger(__name__)

TRAINING_KINDS = {"pytorchjobs": "PyTorchJob", "mpijobs": "MPIJob"}


class KubeSource:
    name = "kubernetes"

    def __init__(self, kubeconfig: Path, context: str | None = None, namespace: str | None = None, *,
                 coalesce_s: float = 0.05, page_size: int = 500) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace  # None: all namespaces
        self.coalesce_s = coalesce_s
        self.page_size = page_size
        self.api: KubeApi | None = None
        self.crds: dict[str, Resource | None] | None = None
        self.informers: dict[str, Informer] = {}
        self._connect_lock = asyncio.Lock()
        # Pod rows are kept incrementally: at 5,000 pods only the changed ones are converted.
        self._pods: dict[str, PodItem] = {}
        self._job_pods: dict[tuple[str, str], set[str]] = {}
        self._converted: dict[tuple[str, str], tuple[str | None, Any]] = {}  # (kind, uid) -> (rv, item)
        self._push: Callable[[FetchResult], None] | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self.pushes = 0

    # -- connection ---------------------------------------------------------------------------
    async def connect(self) -> KubeApi:
        async with self._connect_lock:
            if self.api is None:
                self.api = await KubeApi.connect(self.kubeconfig, self.context)
            return self.api

    async def discover(self, refresh: bool = False) -> dict[str, Resource | None]:
        if self.crds is None or refresh:
            self.crds = await discover(await self.connect())
        return self.crds

    async def resource(self, plural: str) -> Resource | None:
        """The served version of a custom resource, or None when its CRD is not installed."""
        crds = await self.discover()
        if plural not in crds or crds[plural] is None:
            crds = await self.discover(refresh=True)
        return crds.get(plural)

    async def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        if self.api is not None:
            with contextlib.suppress(Exception):
                await self.api.close()
            self.api = None

    # -- one-shot -----------------------------------------------------------------------------
    def _healthy_cache(self) -> bool:
        return bool(self.informers) and all(i.synced.is_set() for i in self.informers.values())

    async def fetch(self) -> FetchResult:
        if self._healthy_cache():
            failing = [f"{name}: {inf.error}" for name, inf in self.informers.items() if inf.error]
            if failing:
                raise ConnectionError("; ".join(failing))
            return self.result()
        api = await self.connect()
        crds = await self.discover(refresh=True)
        objects: dict[str, dict[str, dict[str, Any]]] = {}
        for key, res in self._watched(crds).items():
            inf = Informer(api, res, namespace=None if not res.namespaced else self.namespace,
                           page_size=self.page_size)
            items, _ = await inf.list_all()
            objects[key] = {uid_of(o): o for o in items}
        # A one-off list builds its own pod index: the watch's (self._pods) may already be newer
        # than this list, and overwriting it brought back a pod state the watch had moved past.
        pods = {uid: PodItem.from_api(o) for uid, o in objects["pods"].items()}
        job_pods: dict[tuple[str, str], set[str]] = {}
        for item in pods.values():
            _index_job_pod(job_pods, item, add=True)
        return self.result(objects, pods, job_pods)

    def _watched(self, crds: dict[str, Resource | None]) -> dict[str, Resource]:
        out = {"pods": PODS, "nodes": NODES, "jobs": JOBS}
        for plural in ("pytorchjobs", "mpijobs", "inferenceservices", "workloads"):
            if crds.get(plural) is not None:
                out[plural] = crds[plural]  # type: ignore[assignment]
        return out

    # -- building the result ------------------------------------------------------------------
    def _cached(self, kind: str, obj: dict[str, Any], make: Callable[[], Any]) -> Any:
        key = (kind, uid_of(obj))
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        hit = self._converted.get(key)
        if hit is not None and hit[0] == rv and rv is not None:
            return hit[1]
        item = make()
        self._converted[key] = (rv, item)
        return item

    def result(self, objects: dict[str, dict[str, dict[str, Any]]] | None = None,
               pods: dict[str, PodItem] | None = None,
               job_pods: dict[tuple[str, str], set[str]] | None = None) -> FetchResult:
        """The snapshot of `objects` (default: the informers' caches and the watch's pod index)."""
        if objects is None:
            objects = {k: inf.objects for k, inf in self.informers.items()}
        pods = self._pods if pods is None else pods
        job_pods = self._job_pods if job_pods is None else job_pods
        allocated = ks.gpus_allocated((p.node, p.phase, p.gpus) for p in pods.values())
        nodes = sorted((NodeItem.from_api(o, allocated.get((o.get("metadata") or {}).get("name", ""), 0))
                        for o in objects.get("nodes", {}).values()), key=lambda n: n.name)
        jobs: list[TrainingJobItem] = []
        for plural, kind in (("jobs", "Job"), *TRAINING_KINDS.items()):
            for obj in objects.get(plural, {}).values():
                meta = obj.get("metadata") or {}
                if kind == "Job" and ks.owner(obj) and ks.owner(obj).get("kind") == "MPIJob":
                    continue  # an MPIJob's launcher Job: shown through its MPIJob
                names = tuple(sorted(job_pods.get((meta.get("namespace", ""), meta.get("name", "")), ())))
                jobs.append(self._cached(kind, obj, lambda: TrainingJobItem.from_api(kind, obj, names))  # noqa: B023 - called at once
                            if not names else TrainingJobItem.from_api(kind, obj, names))
        jobs.sort(key=lambda j: (j.namespace, j.name, j.kind))
        isvcs = sorted((self._cached("isvc", o, lambda o=o: InferenceServiceItem.from_api(o))
                        for o in objects.get("inferenceservices", {}).values()), key=lambda i: i.key())
        crds = {plural: (res.api_version if res else None) for plural, res in (self.crds or {}).items()}
        notes = [f"{plural} ({' or '.join(r.api_version for r in CANDIDATES[plural])}) not installed"
                 for plural, v in crds.items() if v is None and plural not in ("localqueues", "workloads")]
        # Kueue's Workloads, and on each job or pod the admission of the Workload it owns
        workloads: list[WorkloadItem] = sorted(
            (self._cached("workload", o, partial(WorkloadItem.from_api, o)) for o in objects.get("workloads", {}).values()),
            key=lambda w: w.key())
        jobs, pod_items = with_admissions(workloads, jobs, pods)
        return FetchResult(items=pod_items, sections={
            "nodes": nodes, "training_jobs": jobs, "inference_services": isvcs, "workloads": workloads,
            "context": self.api.context if self.api else self.context,
            "namespace": self.namespace, "crds": crds, "notes": notes,
        })

    # -- events -------------------------------------------------------------------------------
    def _on_pod_event(self, etype: str, obj: Any) -> None:
        if etype == "SYNC":
            self._pods = {uid: PodItem.from_api(o) for uid, o in self.informers["pods"].objects.items()}
            self._job_pods = {}
            for item in self._pods.values():
                _index_job_pod(self._job_pods, item, add=True)
        else:
            uid = uid_of(obj)
            old = self._pods.pop(uid, None)
            if old is not None:
                _index_job_pod(self._job_pods, old, add=False)
            if etype != "DELETED":
                item = PodItem.from_api(obj)
                self._pods[uid] = item
                _index_job_pod(self._job_pods, item, add=True)
        self._schedule_push()

    def _on_event(self, etype: str, obj: Any) -> None:
        self._schedule_push()

    def _schedule_push(self) -> None:
        if self._push is None or self._flush_handle is not None:
            return
        self._flush_handle = asyncio.get_running_loop().call_later(self.coalesce_s, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if self._push is not None and self._healthy_cache():
            self.pushes += 1
            self._push(self.result())

    async def watch(self, push: Callable[[FetchResult], None], poke: Callable[[], None]) -> None:
        api = await self.connect()
        crds = await self.discover(refresh=True)
        self._push = push
        self.informers = {}
        for key, res in self._watched(crds).items():
            handler = self._on_pod_event if key == "pods" else self._on_event
            self.informers[key] = Informer(api, res, namespace=None if not res.namespaced else self.namespace,
                                           page_size=self.page_size, on_event=handler)
        tasks = [asyncio.create_task(inf.run(), name=f"informer:{key}") for key, inf in self.informers.items()]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            self._push = None


def with_admissions(workloads: list[WorkloadItem], jobs: list[TrainingJobItem],
                    pods: dict[str, PodItem]) -> tuple[list[TrainingJobItem], dict[str, PodItem]]:
    """Jobs and pods with their Kueue Workload's admission (joined by the Workload's owner: the
    job, or the pod for Kueue's pod integration); the same objects where there is none."""
    if not workloads:
        return jobs, dict(pods)
    by_owner = {(w.namespace, w.owner_kind, w.owner_name): w.admission for w in workloads}
    joined = []
    for job in jobs:
        found = by_owner.get((job.namespace, job.kind, job.name))
        joined.append(job.model_copy(update={"admission": found}) if found is not None else job)
    out = dict(pods)
    if any(kind == "Pod" for _, kind, _ in by_owner):
        for uid, pod in pods.items():
            found = by_owner.get((pod.namespace, "Pod", pod.name))
            if found is not None:
                out[uid] = pod.model_copy(update={"admission": found})
    return joined, out


def _index_job_pod(index: dict[tuple[str, str], set[str]], item: PodItem, add: bool) -> None:
    """Keep `index` (job -> its pod names) in step with one pod added or removed."""
    if item.job:
        names = index.setdefault((item.namespace, item.job), set())
        (names.add if add else names.discard)(item.name)


def resolve_kubeconfig(loaded: "LoadedConfig", settings: "KubeSettings | None") -> Path | None:
    if settings is not None and settings.kubeconfig:
        return Path(settings.kubeconfig).expanduser()
    env = env_value(loaded, "KUBECONFIG")
    if env:
        # KUBECONFIG may list several files; like kubectl we take the first one that exists.
        paths = [Path(p).expanduser() for p in env.split(":") if p]
        return next((p for p in paths if p.exists()), paths[0] if paths else None)
    # kubectl's default; with a cockpit.kubernetes section it is used even when missing, so the
    # pane says which file it looked for instead of staying silently unconfigured.
    default = Path.home() / ".kube" / "config"
    if settings is not None or default.exists():
        return default
    return None


def build_source(loaded: "LoadedConfig") -> Any:
    settings = loaded.config.cockpit.kubernetes
    kubeconfig = resolve_kubeconfig(loaded, settings)
    if kubeconfig is None:
        raise NotConfigured()
    if not kubeconfig.exists():
        raise KubeConfigError(f"kubeconfig {kubeconfig} does not exist")
    return KubeSource(kubeconfig, settings.context if settings else None, settings.namespace if settings else None)
