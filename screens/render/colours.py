"""State colours: rules that pick a row's Rich style from one value of the item (a job's state, a
node's state, a pod's phase). The virtual table applies them to whole rows; the words stay the
same, so a row reads without colour too. Imports no Textual."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

BAD = "red"
GOOD = "green"
WAITING = "yellow"
DONE = "dim"


@dataclass(frozen=True)
class RowStyle:
    """`get` reads the value the rule looks at; `styles` maps it (case-insensitive) to a style."""

    get: Callable[[Any], Any]
    styles: Mapping[str, str]
    default: str | None = None
    _folded: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._folded.update({k.casefold(): v for k, v in self.styles.items()})

    def style(self, item: Any) -> str | None:
        try:
            value = self.get(item)
        except (AttributeError, KeyError, TypeError):
            return self.default
        if value is None:
            return self.default
        return self._folded.get(str(value).casefold(), self.default)


def field_of(name: str) -> Callable[[Any], Any]:
    def get(item: Any) -> Any:
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    return get


# SLURM job states (squeue's long names) and what sacct prints for finished jobs.
JOB_STATES = {
    "FAILED": BAD, "NODE_FAIL": BAD, "TIMEOUT": BAD, "BOOT_FAIL": BAD, "OUT_OF_MEMORY": BAD, "DEADLINE": BAD,
    "RUNNING": GOOD, "COMPLETING": GOOD, "CONFIGURING": GOOD,
    "PENDING": WAITING, "SUSPENDED": WAITING, "REQUEUED": WAITING, "REQUEUE_HOLD": WAITING,
    "RESV_DEL_HOLD": WAITING, "PREEMPTED": WAITING, "STOPPED": WAITING,
    "COMPLETED": DONE, "CANCELLED": DONE,
}


def node_condition(node: Any) -> str:
    """A SLURM node's colour class from sinfo's label: down/fail red, drain yellow, in use green."""
    label = str(field_of("state_label")(node) or field_of("state")(node) or "").lower()
    flags = {str(f).upper() for f in (field_of("state_flags")(node) or ())}
    if label.startswith(("down", "fail")) or "NOT_RESPONDING" in flags or label.endswith("*"):
        return "bad"
    if label.startswith("drain") or "DRAIN" in flags:
        return "warn"
    if label.startswith(("alloc", "mix", "comp")):
        return "busy"
    return "idle"


NODE_STYLES = {"bad": BAD, "warn": WAITING, "busy": GOOD}

# libvirt domain states as the VM items spell them.
VM_STATES = {"running": GOOD, "shutoff": DONE, "shut off": DONE, "paused": WAITING, "pmsuspended": WAITING,
             "in shutdown": WAITING, "crashed": BAD, "blocked": WAITING}

# Kubernetes pod phases; a container waiting in an error state beats a phase that says Running.
POD_ERRORS = {"CrashLoopBackOff", "Error", "ImagePullBackOff", "ErrImagePull", "OOMKilled", "CreateContainerError",
              "CreateContainerConfigError", "InvalidImageName", "ContainerCannotRun", "Evicted"}
POD_PHASES = {"Running": GOOD, "Pending": WAITING, "Failed": BAD, "Succeeded": DONE, "Unknown": WAITING,
              "error": BAD}


def pod_condition(pod: Any) -> str | None:
    if field_of("reason")(pod) in POD_ERRORS:
        return "error"
    return field_of("phase")(pod)


# Training jobs (PyTorchJob and friends): their summarised state.
TRAINING_STATES = {"Running": GOOD, "Created": WAITING, "Pending": WAITING, "Restarting": WAITING,
                   "Suspended": WAITING, "Failed": BAD, "Succeeded": DONE, "Complete": DONE}

# MLflow run status. FINISHED stays plain: most runs are finished and must stay readable.
RUN_STATUSES = {"RUNNING": GOOD, "SCHEDULED": WAITING, "FAILED": BAD, "KILLED": DONE}
