"""Why a Kubernetes pod (or training job) waits, in plain words, and what would help.

Pure functions over the strings Kubernetes itself writes; sources (kubernetes/kubernetes):
- the scheduler's FitError.Error() (pkg/scheduler/framework/types.go): the PodScheduled
  condition's message "0/<N> nodes are available: [<PreFilter msg>.] <count> <reason>, ... .
  [preemption: ...]" with the filter plugins' reasons: noderesources "Insufficient <resource>",
  tainttoleration "node(s) had untolerated taint {k: v}" (older: "node(s) had taint {k: v}, that
  the pod didn't tolerate" / "taints that the pod didn't tolerate"), nodeunschedulable "node(s)
  were unschedulable", nodeaffinity "node(s) didn't match Pod's node affinity/selector",
  nodeports "node(s) didn't have free ports for the requested pod ports", "Too many pods",
  interpodaffinity "node(s) didn't match pod affinity rules" / "... pod anti-affinity rules",
  podtopologyspread "node(s) didn't match pod topology spread constraints", volumebinding
  "pod has unbound immediate PersistentVolumeClaims" / "node(s) had volume node affinity conflict";
- the apiserver's pod strategy (pkg/registry/core/pod/strategy.go): a pod created with
  spec.schedulingGates gets PodScheduled=False, reason SchedulingGated, "Scheduling is blocked due
  to non-empty scheduling gates"; Kueue's pod integration gates with "kueue.x-k8s.io/admission";
- the ResourceQuota admission plugin (staging/src/k8s.io/apiserver/pkg/admission/plugin/
  resourcequota/controller.go): 'exceeded quota: <name>, requested: <r>, used: <u>, limited: <l>',
  which reaches a person as a refused create or a controller's FailedCreate event;
- Kueue (kubernetes-sigs/kueue), a Workload's QuotaReserved / Admitted conditions: reason Pending
  with the flavor assigner's "couldn't assign flavors to pod set <name>: insufficient unused quota
  for <resource> in flavor <flavor>, <n> more needed" (pkg/scheduler/flavorassigner), reason
  Inadmissible with "LocalQueue <q> doesn't exist" / "... is inactive" / "ClusterQueue <q> ..."
  (pkg/controller/core/workload_controller.go); see tests/fixtures/kueue/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

KUEUE_GATE = "kueue.x-k8s.io/admission"


@dataclass(frozen=True)
class Wait:
    short: str  # a few words for a table cell
    words: str  # the whole explanation
    action: str  # what would help


_FIT = re.compile(r"^0/(\d+) nodes are available:\s*(.*)$", re.S)
_COUNTED = re.compile(r"^(\d+)\s+(.+)$")


def scheduler_causes(message: str) -> tuple[int | None, list[tuple[int | None, str]]]:
    """(nodes in the cluster, [(how many nodes, reason)]) from a scheduler FitError message; the
    preemption part after it is left out (it repeats why no victim helps)."""
    match = _FIT.match(message.strip())
    if match is None:
        return None, []
    total, rest = int(match.group(1)), match.group(2)
    rest = rest.split(" preemption:", 1)[0].strip().rstrip(".")
    causes: list[tuple[int | None, str]] = []
    for part in re.split(r"\.\s+|,\s+(?=\d+\s)", rest):
        part = part.strip().rstrip(".")
        if not part:
            continue
        counted = _COUNTED.match(part)
        causes.append((int(counted.group(1)), counted.group(2)) if counted else (None, part))
    return total, causes


def _cause_words(count: int | None, cause: str) -> tuple[str, str]:
    """(plain words, action) for one reason of the scheduler."""
    on = f"{count} node{'s' if count != 1 else ''}" if count is not None else "some nodes"
    insufficient = re.match(r"Insufficient (\S+)", cause)
    if insufficient:
        res = insufficient.group(1)
        what = "GPUs" if res == "nvidia.com/gpu" else res
        return (f"not enough free {what} on {on}",
                f"wait for pods holding {what} to finish, ask for fewer, or add nodes with {what}")
    if "taint" in cause:
        taint = re.search(r"\{[^}]*\}", cause)
        which = taint.group(0) if taint else ""
        return (f"a taint it does not tolerate on {on} {which}".rstrip(),
                "add a matching toleration to the pod, or remove the taint (kubectl taint nodes NODE KEY-)")
    if "were unschedulable" in cause:
        return f"cordoned: {on}", "uncordon a node (kubectl uncordon NODE) if it was cordoned by mistake"
    if "node affinity/selector" in cause:
        return (f"its nodeSelector / node affinity matches none of {on}",
                "fix the pod's nodeSelector / affinity, or label a node to match (kubectl label node)")
    if "free ports" in cause:
        return f"its hostPort is taken on {on}", "drop the hostPort, or free it on a node"
    if cause.startswith("Too many pods"):
        return f"pod limit reached on {on}", "wait for pods to finish, or raise the nodes' maxPods"
    if "anti-affinity" in cause or "affinity rules" in cause:
        return f"its pod (anti-)affinity rules rule out {on}", "relax the pod's podAffinity / podAntiAffinity"
    if "topology spread" in cause:
        return f"its topology spread constraints rule out {on}", "relax topologySpreadConstraints (maxSkew / whenUnsatisfiable)"
    if "persistentvolumeclaim" in cause.lower():
        return "a volume claim of it is not bound", "create or fix the PersistentVolumeClaim (a StorageClass that can bind it)"
    if "volume node affinity" in cause:
        return f"its volume is out of reach of {on}", "use a volume available where the pod can run"
    return f"{cause} ({on})" if count is not None else cause, "see the pod's events (kubectl describe pod)"


def explain_unschedulable(message: str) -> Wait:
    total, causes = scheduler_causes(message)
    if not causes:
        return Wait("cannot be placed", f"the scheduler cannot place it: {message}".rstrip(": "),
                    "see the pod's events (kubectl describe pod)")
    said = [_cause_words(count, cause) for count, cause in causes]
    # the table shows the cause that rules out the most nodes
    head = max(zip(causes, said), key=lambda pair: pair[0][0] or 0)[1][0]
    words = f"no node of {total} fits: " + "; ".join(w for w, _ in said)
    actions = list(dict.fromkeys(a for _, a in said))
    return Wait(head, words, "; or ".join(actions))


def explain_gated(gates: list[str]) -> Wait:
    if KUEUE_GATE in gates:
        return Wait("waits for Kueue admission",
                    "Kueue holds it until its workload is admitted: the ClusterQueue behind its LocalQueue "
                    "has no free quota for it yet",
                    "wait for other workloads of the queue to finish, lower its request, or raise the "
                    "ClusterQueue's nominal quota (kubectl get workloads -n NAMESPACE shows why)")
    named = ", ".join(gates) or "unnamed"
    return Wait(f"gated ({named})", f"scheduling gates hold it: {named}",
                "the controller that set the gate removes it when ready; remove it by hand only if that controller is gone")


_QUOTA = re.compile(r"exceeded quota: ([^,]+), requested: (.+?), used: (.+?), limited: (.+)$", re.I)


def explain_quota(message: str) -> Wait | None:
    """A ResourceQuota refusal, wherever it is shown (an action's error, a FailedCreate event)."""
    match = _QUOTA.search(message.strip())
    if match is None:
        return None
    name, requested, used, limited = (g.strip() for g in match.groups())
    return Wait(f"over quota {name}",
                f"namespace quota {name} refuses it: asks {requested}, {used} already used, limit {limited}",
                f"ask for less, wait for other pods of the namespace to finish, or raise quota {name}")


def explain_pod(reason: str, message: str = "", gates: list[str] | None = None) -> Wait | None:
    """Why a pod waits, from kubectl's STATUS reason and its message (kube_status.pod_status);
    None when it is not waiting for a place to run."""
    if reason == "Unschedulable":
        return explain_unschedulable(message)
    if reason == "SchedulingGated":
        return explain_gated(gates if gates is not None else gates_in_message(message))
    quota = explain_quota(message) if message else None
    return quota


def gates_in_message(message: str) -> list[str]:
    """The gate names kube_status.pod_status appends to a SchedulingGated message."""
    match = re.search(r"\(gates: ([^)]*)\)", message)
    return [g.strip() for g in match.group(1).split(",") if g.strip()] if match else []


def explain_training_job(state: str, queue: str | None, admission: Any = None) -> Wait | None:
    """A training or batch job that Kueue holds: Kueue creates (or keeps) a queued job suspended
    (spec.suspend, condition Suspended) until its Workload is admitted, so a suspended job with a
    kueue.x-k8s.io/queue-name waits for admission; None for any other job. With its Workload's
    `admission` (read from Kueue), Kueue's own reason is said instead of the general one."""
    if admission is not None:
        # Kueue's word: admitted (and about to be resumed) is not waiting for admission
        return explain_admission(admission) if state in ("Suspended", "Pending", "Created", "") else None
    if not queue or state != "Suspended":
        return None
    return Wait("waits for Kueue admission",
                f"suspended by Kueue until its workload is admitted in queue {queue} (no free quota in the "
                "ClusterQueue behind it yet)",
                "wait for other workloads of the queue to finish, lower its request, or raise the ClusterQueue's "
                "nominal quota (kubectl get workloads -n NAMESPACE shows why)")


_SHORT_BY = re.compile(r"insufficient unused quota for (\S+) in flavor (\S+), (\S+) more needed")
_OVER_ALL = re.compile(r"insufficient quota for (\S+) in flavor (\S+) in ClusterQueue")
_QUEUE = re.compile(r"^(LocalQueue|ClusterQueue) (\S+) (doesn't exist|is inactive|is stopped|is terminating or missing)")
_INSPECT = "kubectl get workload WORKLOAD -n NAMESPACE -o yaml shows Kueue's conditions"


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def explain_admission(admission: Any) -> Wait | None:
    """Why Kueue has not admitted a workload, from its Workload's conditions (a KueueAdmission of
    the kubernetes source, or its JSON); None once it is admitted."""
    if _field(admission, "admitted"):
        return None
    name = _field(admission, "workload") or "its workload"
    inspect = _INSPECT.replace("WORKLOAD", name)
    message = str(_field(admission, "message") or "")
    reason = str(_field(admission, "reason") or "")
    evicted = str(_field(admission, "evicted") or "")
    earlier = f" (evicted before: {evicted})" if evicted else ""
    if _field(admission, "quota_reserved"):
        where = _field(admission, "cluster_queue") or "its ClusterQueue"
        return Wait("Kueue: admission checks",
                    f"quota reserved in {where}; Kueue waits for its admission checks{': ' + message if message else ''}",
                    f"wait for the ClusterQueue's admission checks (provisioning, MultiKueue); {inspect}")
    if _field(admission, "quota_reserved") is None:
        return Wait("Kueue: not tried yet",
                    f"Kueue has not tried to admit {name} yet (a StrictFIFO ClusterQueue tries only its head)",
                    f"wait for the workloads ahead of it in the queue; {inspect}")
    queue = _QUEUE.match(message)
    if reason == "Inadmissible" or queue:
        if queue:
            kind, qname, state = queue.groups()
            label = f"{kind} {qname} {'missing' if 'exist' in state or 'missing' in state else state.split()[-1]}"
            if kind == "LocalQueue" and ("exist" in state or "missing" in state):
                action = (f"create LocalQueue {qname} in the job's namespace (spec.clusterQueue naming a ClusterQueue), "
                          "or fix the job's kueue.x-k8s.io/queue-name label")
            elif "exist" in state or "missing" in state:
                action = f"create ClusterQueue {qname}, or point the LocalQueue at one that exists"
            elif "stopped" in state:
                action = f"resume {kind} {qname} (spec.stopPolicy: None)"
            else:
                action = f"kubectl describe {kind.lower()} {qname} says why it is inactive (a missing ResourceFlavor or admission check)"
            return Wait(f"Kueue: {label}", f"Kueue cannot queue it: {message}", action)
        return Wait("Kueue: inadmissible", f"Kueue cannot queue it: {message or reason}", inspect)
    short = _SHORT_BY.findall(message)
    if short:
        needs = ", ".join(f"{more} more {res} in flavor {flavor}" for res, flavor, more in short)
        head_res, head_flavor, head_more = short[0]
        return Wait(f"Kueue quota: {head_more} more {head_res}",
                    f"no free quota in its ClusterQueue: needs {needs}{earlier}",
                    f"wait for admitted workloads of the queue to finish, ask for less {head_res}, or raise the "
                    f"ClusterQueue's nominalQuota for {head_res} in flavor {head_flavor} (or let it borrow from its cohort)")
    over = _OVER_ALL.findall(message)
    if over:
        res, flavor = over[0]
        return Wait(f"Kueue: over the whole {res} quota",
                    f"asks for more {res} than the ClusterQueue's whole quota in flavor {flavor}: it can never be admitted as it is{earlier}",
                    f"ask for at most the ClusterQueue's quota of {res}, or raise its nominalQuota for {res} in flavor {flavor}")
    return Wait("waits for Kueue admission", f"Kueue has not admitted it: {message or reason or 'no reason given'}{earlier}",
                inspect)
