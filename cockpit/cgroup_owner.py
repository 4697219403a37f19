"""Who owns a process, read from its cgroup path: a SLURM job, a Kubernetes pod, a container, a
systemd service or a login session.

A GPU that stays on the host (not passed to a VM) is used by host processes, which NVML lists by
pid; their cgroup says what work they belong to. The layouts recognised, each as its own
software writes it (the fixtures in tests/fixtures/cgroups/README.md cite the sources):

- SLURM cgroup/v2: /system.slice/slurmstepd.scope/job_<id>/step_<step>/user/task_<n>
  (with several slurmd per host, the scope is <nodename>_slurmstepd.scope);
- SLURM cgroup/v1: /slurm/uid_<uid>/job_<id>/step_<step>/task_<n> (and /slurm_<nodename>/...);
- kubelet, systemd driver: /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/...
  with the uid's dashes written as underscores (Guaranteed pods: kubepods-pod<uid>.slice);
- kubelet, cgroupfs driver: /kubepods/<qos>/pod<uid>/<container id>;
- podman/docker: libpod-<id>.scope (systemd), /libpod_parent/libpod-<id> (cgroupfs),
  docker-<id>.scope, /docker/<id>;
- systemd: <unit>.service, user-<uid>.slice/session-<n>.scope.

Pure: no file is read here (backends/gpus/host_procs.py reads /proc).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SLURM_JOB = re.compile(r"/job_(\d+)(?:/step_([^/]+))?")
_SLURM_ROOT = re.compile(r"(?:^|/)(?:[^/]*_)?slurmstepd\.scope/|(?:^|/)slurm(?:_[^/]+)?/uid_\d+/")
_POD_SYSTEMD = re.compile(r"kubepods(?:-[a-z]+)?-pod([0-9a-f_]{36})\.slice")
_POD_CGROUPFS = re.compile(r"(?:^|/)kubepods(?:/[a-z]+)?/pod([0-9a-f-]{36})(?:/|$)")
_CONTAINER = re.compile(r"(?:(libpod|docker|cri-containerd|crio)-([0-9a-f]{12,64})(?:\.scope)?(?:/|$))|(?:/docker/([0-9a-f]{12,64}))")
_SERVICE = re.compile(r"/([^/]+)\.service(?:/|$)")
_SESSION = re.compile(r"/user-(\d+)\.slice(?:/session-([^/]+)\.scope)?")


@dataclass(frozen=True)
class CgroupOwner:
    kind: str  # slurm_job | pod | container | service | session
    id: str  # job id, pod uid, container id (12 characters), unit name, or user id
    detail: str | None = None  # step name, container runtime, session number

    def describe(self) -> str:
        extra = f" {self.detail}" if self.detail else ""
        names = {"slurm_job": "SLURM job", "pod": "pod", "container": "container",
                 "service": "service", "session": "login session of uid"}
        if self.kind == "slurm_job" and self.detail:
            extra = f" step {self.detail}"
        return f"{names.get(self.kind, self.kind)} {self.id}{extra}"


def cgroup_path(proc_cgroup_text: str) -> str | None:
    """The most telling path in a /proc/PID/cgroup file: the unified (v2) one, unless it is the
    root and a v1 hierarchy names a deeper path (hybrid hosts, as SLURM's cgroup/v1 sets up)."""
    unified, deepest = None, None
    for line in proc_cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            unified = path
        elif path and path != "/" and (deepest is None or path.count("/") > deepest.count("/")):
            deepest = path
    if unified and unified != "/":
        return unified
    return deepest or unified


def owner_of(path: str | None) -> CgroupOwner | None:
    """What the cgroup `path` belongs to, most specific first; None when it names nothing known."""
    if not path:
        return None
    if _SLURM_ROOT.search(path):
        job = _SLURM_JOB.search(path)
        if job:
            return CgroupOwner("slurm_job", job.group(1), job.group(2))
        return None  # slurmstepd's own cgroup (".../slurmstepd.scope/system"): no job
    pod = _POD_SYSTEMD.search(path)
    if pod:
        return CgroupOwner("pod", pod.group(1).replace("_", "-"), _container_detail(path))
    pod = _POD_CGROUPFS.search(path)
    if pod:
        return CgroupOwner("pod", pod.group(1), None)
    container = _CONTAINER.search(path)
    if container:
        runtime = container.group(1) or "docker"
        cid = container.group(2) or container.group(3)
        return CgroupOwner("container", cid[:12], runtime)
    service = _SERVICE.search(path)
    if service:
        return CgroupOwner("service", service.group(1))
    session = _SESSION.search(path)
    if session:
        return CgroupOwner("session", session.group(1), session.group(2))
    return None


def _container_detail(path: str) -> str | None:
    container = _CONTAINER.search(path)
    return f"{container.group(1)} {container.group(2)[:12]}" if container and container.group(2) else None


def owner_text(kind: str | None, owner_id: str | None, detail: str | None = None) -> str:
    """An owner as words, from the fields a snapshot item carries ("SLURM job 42 step 0")."""
    return CgroupOwner(kind or "", owner_id or "", detail).describe() if kind else ""
