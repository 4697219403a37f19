"""The MLflow tags that link a run to the rest of the cockpit.

The names are the cockpit's contract: `backends/mlflow/source.py` LINK_TAGS reads exactly
`slurm_job_id`, `k8s_pod`, `k8s_namespace`, `plan`, `plan_step` and `cockpit.source`.
Values come from the environment the scheduler or the plan runner sets; a tag whose value is
unknown is left out rather than written empty.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

SERVICEACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def in_kubernetes(env: Mapping[str, str]) -> bool:
    # Every pod gets the service env vars injected by the kubelet.
    return "KUBERNETES_SERVICE_HOST" in env


def k8s_namespace(env: Mapping[str, str], sa_file: Path = SERVICEACCOUNT_NAMESPACE) -> str | None:
    if env.get("POD_NAMESPACE"):
        return env["POD_NAMESPACE"]
    if in_kubernetes(env):
        try:
            return sa_file.read_text().strip() or None
        except OSError:
            return None
    return None


def k8s_pod(env: Mapping[str, str]) -> str | None:
    if env.get("POD_NAME"):
        return env["POD_NAME"]
    # Without the downward API a pod's hostname is its name.
    if in_kubernetes(env) and env.get("HOSTNAME"):
        return env["HOSTNAME"]
    return None


def source_of(env: Mapping[str, str]) -> str:
    """Where the run executes: slurm | kubernetes | local (COCKPIT_SOURCE overrides)."""
    if env.get("COCKPIT_SOURCE"):
        return env["COCKPIT_SOURCE"]
    if env.get("SLURM_JOB_ID"):
        return "slurm"
    if in_kubernetes(env) or env.get("POD_NAME"):
        return "kubernetes"
    return "local"


def run_tags(
    env: Mapping[str, str] | None = None,
    *,
    workload: str | None = None,
    sa_file: Path = SERVICEACCOUNT_NAMESPACE,
) -> dict[str, str]:
    env = os.environ if env is None else env
    tags: dict[str, str | None] = {
        "slurm_job_id": env.get("SLURM_JOB_ID"),
        "k8s_pod": k8s_pod(env),
        "k8s_namespace": k8s_namespace(env, sa_file),
        "plan": env.get("COCKPIT_PLAN"),
        "plan_step": env.get("COCKPIT_PLAN_STEP"),
        "cockpit.source": source_of(env),
        "cockpit.workload": workload,
        # Array jobs and multi-node jobs: useful beside the job id, not linked on.
        "slurm_array_task_id": env.get("SLURM_ARRAY_TASK_ID"),
        "slurm_nodelist": env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST"),
    }
    return {k: str(v) for k, v in tags.items() if v not in (None, "")}
