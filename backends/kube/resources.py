"""The resource types the cockpit reads, and discovery of which custom ones a cluster serves."""

from __future__ import annotations

from dataclasses import dataclass

from backends.kube.api import KubeApi, KubeError


@dataclass(frozen=True)
class Resource:
    group: str  # "" = core
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if sub:
                base += f"/{sub}"
        return base


PODS = Resource("", "v1", "pods", "Pod")
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
EVENTS = Resource("", "v1", "events", "Event")
RESOURCEQUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")
JOBS = Resource("batch", "v1", "jobs", "Job")

# Custom resources, each with the versions we understand in order of preference.
CANDIDATES: dict[str, tuple[Resource, ...]] = {
    "pytorchjobs": (Resource("kubeflow.org", "v1", "pytorchjobs", "PyTorchJob"),),
    "mpijobs": (Resource("kubeflow.org", "v2beta1", "mpijobs", "MPIJob"),
                Resource("kubeflow.org", "v1", "mpijobs", "MPIJob")),
    "inferenceservices": (Resource("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService"),),
    "localqueues": (Resource("kueue.x-k8s.io", "v1beta1", "localqueues", "LocalQueue"),),
    "workloads": (Resource("kueue.x-k8s.io", "v1beta1", "workloads", "Workload"),),
}


async def discover(api: KubeApi) -> dict[str, Resource | None]:
    """Which custom resources the cluster serves: plural -> Resource, or None when the CRD is not
    installed. One GET per group/version (a missing group answers 404)."""
    served: dict[tuple[str, str], set[str]] = {}
    out: dict[str, Resource | None] = {}
    for plural, options in CANDIDATES.items():
        out[plural] = None
        for res in options:
            gv = (res.group, res.version)
            if gv not in served:
                try:
                    doc = await api.get(f"/apis/{res.group}/{res.version}")
                    served[gv] = {r.get("name") for r in doc.get("resources") or []}
                except KubeError as exc:
                    if exc.status not in (403, 404, 503):
                        raise
                    served[gv] = set()
            if res.plural in served[gv]:
                out[plural] = res
                break
    return out
