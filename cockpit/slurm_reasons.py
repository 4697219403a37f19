"""Why a SLURM job waits (or why it ended), in plain words beside Slurm's own reason code.

The codes are the strings Slurm prints in squeue's REASON, `scontrol show job`'s Reason= and the
JSON `state_reason`. Sources, Slurm's own:
- Slurm 22.05 (Debian 12's): `job_reason_string()` in src/common/slurm_protocol_defs.c, with the
  enum and its one-line comments in slurm/slurm.h (/usr/include/slurm/slurm.h of libslurm-dev
  22.05.8); tests/fixtures/slurm/reasons/job_state_reasons.txt holds the codes as compiled into
  Debian's libslurmfull.so.
- Newer releases: the `jsra[]` table in src/common/job_state_reason.c (SchedMD/slurm, commit
  00cd61fa0d5921cfb4eef349a084252de9dae1dc; MaxPoweredUpNodes and MpiPortsBusy from a later copy
  of the same file).
Limit codes follow one naming scheme (QOS/Assoc + Grp/Max/Min + resource + Minutes/RunMinutes +
PerJob/PerNode/PerUser/PerAccount), decoded below instead of being listed one by one; the plain
words are ours, written from the enum's comments.

Pure data and functions: the queue pane and the job detail ask `why_waiting(job, nodes)`; anything
else (plans, reports) can ask `explain(code)` the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from cockpit.slurm_priority import rank_words

# kind: what sort of wait it is, so callers can group or colour them.
#   held  dependency  resources  priority  limit  partition  nodes  reservation  time  array  other  ended
_EXPLICIT: dict[str, tuple[str, str, str | None]] = {
    # code: (plain words, kind, the action that ends the wait, if any)
    "None": ("", "other", None),
    "Prolog": ("the prolog script is running on its nodes", "other", None),
    "Priority": ("higher-priority jobs go first", "priority", None),
    "Dependency": ("waits for the jobs it depends on", "dependency", None),
    "DependencyNeverSatisfied": ("its dependency can never be satisfied: cancel it", "dependency", "slurm.cancel"),
    "Resources": ("waits for free resources", "resources", None),
    "PartitionNodeLimit": ("asks for more nodes than the partition allows", "partition", None),
    "PartitionTimeLimit": ("asks for more time than the partition allows", "partition", None),
    "PartitionDown": ("its partition is down", "partition", None),
    "PartitionInactive": ("its partition is inactive", "partition", None),
    "PartitionConfig": ("the partition's configuration does not allow it", "partition", None),
    "JobHeldAdmin": ("held by an admin", "held", "slurm.release"),
    "JobHeldUser": ("held by its user", "held", "slurm.release"),
    "JobHoldMaxRequeue": ("held after being requeued too often", "held", "slurm.release"),
    "BeginTime": ("waits for its start time", "time", None),
    "Licenses": ("waits for licenses", "resources", None),
    "AssociationJobLimit": ("the account's job limit is reached", "limit", None),
    "AssociationResourceLimit": ("the account's resource limit is reached", "limit", None),
    "AssociationTimeLimit": ("the account's time limit is reached", "limit", None),
    "Reservation": ("waits for its reservation to start or have room", "reservation", None),
    "ReservationDeleted": ("its reservation was deleted", "reservation", None),
    "ReservationInvalid": ("its reservation is not usable", "reservation", None),
    "ReqNodeNotAvail": ("a node it needs is down, drained or reserved", "nodes", None),
    "FrontEndDown": ("the front end nodes are down", "nodes", None),
    "SchedDefer": ("scheduling was deferred at submit time", "other", None),
    "NodeDown": ("a node of its allocation went down", "nodes", None),
    "BadConstraints": ("its constraints cannot be satisfied", "nodes", "slurm.cancel"),
    "Constraints": ("its constraints cannot be satisfied now", "nodes", None),
    "SystemFailure": ("Slurm, the file system or the network failed", "ended", None),
    "JobLaunchFailure": ("the job could not be launched", "ended", None),
    "NonZeroExitCode": ("it exited with a non-zero code", "ended", None),
    "RaisedSignal": ("it was killed by a signal", "ended", None),
    "TimeLimit": ("it reached its time limit", "ended", None),
    "InactiveLimit": ("it was inactive too long", "ended", None),
    "InvalidAccount": ("its account is not valid", "limit", "slurm.cancel"),
    "InvalidQOS": ("its QOS is not valid", "limit", "slurm.cancel"),
    "QOSUsageThreshold": ("the QOS usage threshold is reached", "limit", None),
    "QOSJobLimit": ("the QOS job limit is reached", "limit", None),
    "QOSResourceLimit": ("the QOS resource limit is reached", "limit", None),
    "QOSTimeLimit": ("the QOS time limit is reached", "limit", None),
    "Cleaning": ("requeued; waits while its previous run is cleaned up", "other", None),
    "QOSNotAllowed": ("its QOS is not allowed in this partition", "limit", "slurm.cancel"),
    "AccountNotAllowed": ("its account is not allowed in this partition", "limit", "slurm.cancel"),
    "JobArrayTaskLimit": ("the array runs its most tasks at once (%N)", "array", None),
    "BurstBufferResources": ("waits for burst buffer space", "resources", None),
    "BurstBufferStageIn": ("its burst buffer data is being staged in", "other", None),
    "BurstBufferOperation": ("a burst buffer operation failed", "ended", None),
    "PowerNotAvail": ("not enough power is available", "resources", None),
    "PowerReserved": ("the power it needs is reserved", "resources", None),
    "DeadLine": ("its deadline cannot be met", "ended", None),
    "AccountingPolicy": ("an accounting policy limit holds it", "limit", None),
    "FedJobLock": ("waits for the federation's job lock", "other", None),
    "OutOfMemory": ("it ran out of memory", "ended", None),
    "MaxMemPerLimit": ("asks for more memory per CPU or node than allowed", "limit", None),
    "MaxPoweredUpNodes": ("the limit of powered-up nodes is reached", "resources", None),
    "MpiPortsBusy": ("waits for free MPI ports", "resources", None),
    "BlockMaxError": ("a BlueGene block error limit was reached (old releases)", "other", None),
    "BlockFreeAction": ("a BlueGene block is being freed (old releases)", "other", None),
    "InvaildReason": ("Slurm did not know the reason", "other", None),  # sic: Slurm's spelling
}

# What would help, per code: the step a person can take (or "nothing: wait" said plainly). `ID` stands
# for the job id, filled in by advice(). Commands are Slurm's own (scontrol, sacctmgr, sprio).
_ADVICE: dict[str, str] = {
    "Priority": "wait its turn (sprio -j ID shows its priority factors); a smaller or shorter request can backfill sooner",
    "Dependency": "wait for the jobs it depends on (scontrol show job ID shows them)",
    "DependencyNeverSatisfied": "cancel it and resubmit with a dependency that can be met (afterany instead of afterok)",
    "Resources": "wait, or ask for fewer GPUs, CPUs or nodes, or a shorter time limit, so it fits sooner",
    "PartitionNodeLimit": "ask for fewer nodes, or move it to a partition that allows this many "
                          "(scontrol update jobid=ID Partition=...)",
    "PartitionTimeLimit": "lower its time limit to the partition's MaxTime (scontrol update jobid=ID TimeLimit=...)",
    "PartitionDown": "an admin brings the partition up (scontrol update PartitionName=... State=UP), or move the job",
    "PartitionInactive": "an admin activates the partition, or move the job to another partition",
    "PartitionConfig": "compare the request with the partition's limits (scontrol show partition), or move the job",
    "JobHeldAdmin": "an admin releases it (scontrol release ID)",
    "JobHeldUser": "release it when it should run",
    "JobHoldMaxRequeue": "find why every run failed (its output), fix that, then release it",
    "BeginTime": "wait for its start time, or start it now (scontrol update jobid=ID StartTime=now)",
    "Licenses": "wait for other jobs to give the licenses back, or ask for fewer",
    "AssociationJobLimit": "wait for the account's running jobs to finish, or ask its coordinator to raise the limit (sacctmgr)",
    "AssociationResourceLimit": "wait for the account's running jobs to finish, or ask for less, or have the limit raised (sacctmgr)",
    "AssociationTimeLimit": "lower its time limit, or have the account's limit raised (sacctmgr)",
    "Reservation": "wait for the reservation's window (scontrol show reservation)",
    "ReservationDeleted": "take the reservation off the job (scontrol update jobid=ID Reservation=) or cancel it",
    "ReservationInvalid": "take the reservation off the job (scontrol update jobid=ID Reservation=) or cancel it",
    "ReqNodeNotAvail": "resume the node if it was drained by mistake (u on the nodes table), or drop it from the "
                       "job's --nodelist / reservation",
    "FrontEndDown": "an admin brings the front end nodes back",
    "NodeDown": "resume the node, or requeue the job",
    "BadConstraints": "cancel it and resubmit with --constraint features some node has (sinfo -o '%N %f')",
    "Constraints": "wait for nodes with its features, or relax --constraint",
    "InvalidAccount": "cancel it and resubmit with an account you belong to (sacctmgr show assoc user=$USER)",
    "InvalidQOS": "cancel it and resubmit with a QOS you may use (sacctmgr show assoc user=$USER format=qos)",
    "QOSUsageThreshold": "wait for the QOS's usage to decay, or use another QOS",
    "QOSJobLimit": "wait for your jobs in that QOS to finish, or use another QOS",
    "QOSResourceLimit": "wait for your jobs in that QOS to finish, ask for less, or use another QOS",
    "QOSTimeLimit": "lower its time limit, or use another QOS",
    "Cleaning": "nothing: it runs again once its last run is cleaned up",
    "QOSNotAllowed": "move it to a partition that allows the QOS, or use another QOS",
    "AccountNotAllowed": "move it to a partition that allows the account, or use another account",
    "JobArrayTaskLimit": "wait, or let more tasks run at once (scontrol update jobid=ID ArrayTaskThrottle=N)",
    "AccountingPolicy": "a QOS or account limit holds it: wait for other jobs, ask for less, or have the limit raised",
    "MaxMemPerLimit": "ask for less memory per CPU or node (--mem-per-cpu / --mem)",
    "BurstBufferResources": "wait for burst buffer space, or ask for less",
    "PowerNotAvail": "wait for power to free up as other jobs end",
    "PowerReserved": "wait for the power reservation to end",
    "MaxPoweredUpNodes": "wait for powered-up nodes to free up, or have SuspendExcNodes / the limit raised",
    "MpiPortsBusy": "wait for other MPI jobs to free their ports, or have MpiParams ports= widened",
    "TimeLimit": "give the next run a longer --time, or checkpoint more often",
    "OutOfMemory": "give the next run more memory (--mem), or use less",
    "NodeFail": "requeue it; look at the node's reason",
}
# What helps for a decoded limit code, by its bound and scope (see _decode_limit).
_LIMIT_ADVICE = {
    "Min": "ask for at least the minimum",
    "MaxPerJob": "a per-job maximum it can never meet: cancel it and resubmit asking for less",
    "Max": "wait for your running jobs to finish, ask for less, or have the limit raised (sacctmgr)",
    "Grp": "wait for the group's running jobs to finish, or have the limit raised (sacctmgr)",
}

_RESOURCES = {  # code word: (plural, singular for "-minutes")
    "Cpu": ("CPUs", "CPU"), "CPU": ("CPUs", "CPU"), "Mem": ("memory", "memory"), "Memory": ("memory", "memory"),
    "Node": ("nodes", "node"), "Jobs": ("jobs", "job"), "Job": ("jobs", "job"),
    "SubmitJobs": ("submitted jobs", "job"), "SubmitJob": ("submitted jobs", "job"), "Wall": ("wall time", "wall"),
    "WallDuration": ("wall time", "wall"), "GRES": ("GRES (GPUs)", "GRES"), "License": ("licenses", "license"),
    "BB": ("burst buffer", "burst buffer"), "Energy": ("energy", "energy"), "Billing": ("billing", "billing"),
    "Unknown": ("TRES", "TRES"),
}
_SCOPES = {"PerJob": "per job", "PerNode": "per node", "PerUser": "per user", "PerAccount": "per account"}
_LIMIT = re.compile(
    r"^(QOS|Assoc)?(Grp|Max|Min)"
    r"(SubmitJobs|SubmitJob|Jobs|Job|WallDuration|Wall|Cpu|CPU|Memory|Mem|Node|GRES|License|BB|Energy|Billing|Unknown)"
    r"(RunMinutes|RunMins|Minutes|Mins)?(PerJob|PerNode|PerUser|PerAccount)?(Limit|NotSatisfied)?$")


@dataclass(frozen=True)
class Reason:
    code: str  # Slurm's code as printed
    words: str  # plain words ("" when Slurm says None or the code is unknown)
    kind: str
    action: str | None = None  # the cockpit action that ends the wait (slurm.release for a held job)
    known: bool = True
    advice: str | None = None  # what would help, in plain words ("ID" for the job id)

    def label(self, key_for: Any = None) -> str:
        """`JobHeldUser: held by its user (release with l)`; key_for(action) gives the row key."""
        if not self.words:
            return self.code
        text = f"{self.code}: {self.words}"
        if self.action and key_for is not None:
            key = key_for(self.action)
            if key:
                verb = self.action.split(".", 1)[1]
                text += f" ({verb} with {key})"
        return text


def _decode_limit(code: str) -> Reason | None:
    match = _LIMIT.match(code)
    if match is None:
        return None
    owner, bound, resource, minutes, scope, _ = match.groups()
    who = {"QOS": "the QOS's", "Assoc": "the account's", None: "the QOS's"}[owner]
    plural, singular = _RESOURCES[resource]
    what = plural
    if minutes:
        what = singular + "-minutes" + (" of running jobs" if minutes.startswith("Run") else "")
    scope_words = f" {_SCOPES[scope]}" if scope else ""
    if bound == "Min":
        return Reason(code, f"asks for fewer {what} than {who} minimum{scope_words}", "limit",
                      advice=_LIMIT_ADVICE["Min"])
    limit = "group limit" if bound == "Grp" else "limit"
    per_job_max = bound == "Max" and scope == "PerJob" and not (minutes or "").startswith("Run")
    advice = _LIMIT_ADVICE["MaxPerJob" if per_job_max else bound]
    if per_job_max and resource in ("Wall", "WallDuration"):
        advice = "lower its time limit below the maximum (scontrol update jobid=ID TimeLimit=...)"
    return Reason(code, f"{who} {limit} on {what}{scope_words} is reached", "limit", advice=advice)


def explain(reason: str | None) -> Reason:
    """Plain words for a reason as Slurm prints it, also with detail after it
    (`ReqNodeNotAvail, UnavailableNodes:node3`, `(Dependency)`)."""
    if not reason:
        return Reason("", "", "other")
    text = reason.strip().strip("()")
    code, _, rest = text.partition(",")
    code = code.strip()
    entry = _EXPLICIT.get(code)
    if entry is not None:
        words, kind, action = entry
        found = Reason(code, words, kind, action, advice=_ADVICE.get(code))
    else:
        decoded = _decode_limit(code)
        found = decoded if decoded is not None else Reason(code, "", "other", known=False)
    rest = rest.strip()
    if rest and found.words:
        detail = rest.replace("UnavailableNodes:", "unavailable: ")
        found = Reason(text, f"{found.words} ({detail})", found.kind, found.action, found.known, found.advice)
    return found


def what_to_do(job: Any) -> str | None:
    """What would help a pending job (or one that ended for a reason with a lesson), with its id
    filled in; None when Slurm's reason has no advice."""
    reason = explain(_get(job, "reason"))
    if reason.advice is None:
        return None
    return reason.advice.replace("jobid=ID", f"jobid={_get(job, 'job_id')}").replace(" ID", f" {_get(job, 'job_id')}")


def known_codes() -> list[str]:
    """The codes with their own entry (limit codes are decoded by pattern)."""
    return list(_EXPLICIT)


# -- what is short, when the cluster's nodes are known ------------------------------------------------
_USABLE_SKIP = {"DOWN", "DRAIN", "DRAINED", "DRAINING", "FAIL", "FAILING", "NOT_RESPONDING", "POWERED_DOWN",
                "POWER_DOWN", "MAINTENANCE", "RESERVED", "FUTURE"}


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _usable(node: Any) -> bool:
    states = {str(_get(node, "state") or "").upper(), *(str(f).upper() for f in (_get(node, "state_flags") or ()))}
    return not (states & _USABLE_SKIP)


def short_of(job: Any, nodes: Iterable[Any]) -> str | None:
    """What a job waiting for Resources lacks right now, from the node table: 'needs 4 GPUs free on
    1 node, none has them (most free on one node: 2) (partition gpu: 3 of 4 nodes usable)'. None when nothing is
    visibly short (the scheduler may still be packing), or the job or nodes say too little."""
    partition = _get(job, "partition")
    pool = [n for n in nodes if partition is None or partition in (_get(n, "partitions") or ())]
    if not pool:
        return f"no node in partition {partition}" if partition else None
    usable = [n for n in pool if _usable(n)]
    where = f"partition {partition}" if partition else "the cluster"
    count = f"{len(usable)} of {len(pool)} nodes usable"
    if not usable:
        return f"no usable node in {where} ({count})"
    node_count = max(int(_get(job, "node_count") or 1), 1)
    parts = []
    for what, total, used, unit in (("gpus", "gpus", "gpus_used", "GPU"), ("cpus", "cpus", "cpus_alloc", "CPU")):
        wanted = int(_get(job, what) or 0)
        if not wanted:
            continue
        per_node = -(-wanted // node_count)
        free = sorted(((_get(n, total) or 0) - (_get(n, used) or 0) for n in usable), reverse=True)
        fitting = sum(1 for f in free if f >= per_node)
        if fitting < node_count:
            have = "none has" if fitting == 0 else f"only {fitting} {'has' if fitting == 1 else 'have'}"
            parts.append(f"needs {per_node} {unit}{'s' if per_node != 1 else ''} free on {node_count} "
                         f"node{'s' if node_count != 1 else ''}, {have} them (most free on one node: {free[0]})")
    if len(usable) < node_count:
        parts.append(f"needs {node_count} nodes, {len(usable)} usable")
    if not parts:
        return None
    return f"{'; '.join(parts)} ({where}: {count})"


def why_waiting(job: Any, nodes: Iterable[Any] | None = None, key_for: Any = None) -> str | None:
    """The reason line for a pending job (None when it is not pending): code, words and, for
    Resources, what is short. `key_for(action)` names the row key that acts on it."""
    if str(_get(job, "state") or "").upper() != "PENDING":
        return None
    reason = explain(_get(job, "reason"))
    if not reason.code:
        return "pending (Slurm has not given a reason yet)"
    text = reason.label(key_for)
    if reason.code == "JobArrayTaskLimit":
        text = text.replace("(%N)", f"({_array_limit(job)})" if _array_limit(job) else "").replace("  ", " ")
    if reason.kind == "resources" and nodes is not None:
        short = short_of(job, nodes)
        if short:
            text += f": {short}"
    if reason.kind in ("resources", "priority"):
        place = rank_words(job)  # both wait their turn: where it stands in the partition's queue
        if place:
            text += f"; {place}"
    return text


def _array_limit(job: Any) -> str | None:
    tasks = str(_get(job, "array_tasks") or _get(job, "display_id") or "")
    match = re.search(r"%(\d+)", tasks)
    return match.group(1) if match else None
