"""State colour rules of every pane spec (screens/render/colours.py and each ROW_STYLE)."""

from __future__ import annotations

import json
from pathlib import Path

from backends.kube.models import PodItem
from backends.libvirt.models import VmItem
from backends.mlflow.models import RunItem
from backends.slurm.models import Job, Node
from backends.slurm.parse import parse_nodes
from screens.render import kubernetes, mlflow, slurm, vms

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"


def job(state: str) -> Job:
    return Job(job_id=1, display_id="1", name="j", state=state)


def test_job_states() -> None:
    rule = slurm.ROW_STYLE
    for state in ("FAILED", "NODE_FAIL", "TIMEOUT", "OUT_OF_MEMORY", "BOOT_FAIL"):
        assert rule.style(job(state)) == "red", state
    assert rule.style(job("RUNNING")) == "green" and rule.style(job("PENDING")) == "yellow"
    assert rule.style(job("COMPLETED")) == "dim" and rule.style(job("CANCELLED")) == "dim"
    assert rule.style({"state": "running"}) == "green"  # JSON items and any case


def test_node_states_from_a_real_sinfo() -> None:
    nodes = {n.name: n for n in parse_nodes(json.loads((FIXTURES / "v0.0.41" / "nodes.json").read_text()))}
    rule = slurm.SECTIONS["nodes"]["row_style"]
    assert nodes["node4"].state_label == "drained" and rule.style(nodes["node4"]) == "yellow"
    assert rule.style(nodes["node1"]) == "green"  # allocated
    down = Node(name="n9", state="DOWN", state_flags=("NOT_RESPONDING",), state_label="down*")
    assert rule.style(down) == "red"
    idle = Node(name="n8", state="IDLE", state_label="idle")
    assert rule.style(idle) is None


def test_vms_pods_and_runs() -> None:
    vm = VmItem(name="a", uuid="u", host="h", state="shutoff", vcpus=1, memory_mib=1)
    assert vms.ROW_STYLE.style(vm) == "dim"
    assert vms.ROW_STYLE.style(vm.model_copy(update={"state": "running"})) == "green"
    pod = PodItem(uid="1", namespace="ml", name="p", phase="Running", reason="Running")
    assert kubernetes.ROW_STYLE.style(pod) == "green"
    assert kubernetes.ROW_STYLE.style(pod.model_copy(update={"reason": "CrashLoopBackOff"})) == "red"
    assert kubernetes.ROW_STYLE.style(pod.model_copy(update={"phase": "Pending", "reason": "Unschedulable"})) == "yellow"
    assert kubernetes.ROW_STYLE.style(pod.model_copy(update={"phase": "Succeeded", "reason": "Completed"})) == "dim"
    run = RunItem(run_id="r" * 32, experiment="e", experiment_id="1", status="FAILED")
    assert mlflow.ROW_STYLE.style(run) == "red"
    assert mlflow.ROW_STYLE.style(run.model_copy(update={"status": "RUNNING"})) == "green"
    assert mlflow.ROW_STYLE.style(run.model_copy(update={"status": "FINISHED"})) is None


def test_storage_targets() -> None:
    from screens.render import storage

    good = {"type": "storage", "id": 1, "reachability": "Online", "consistency": "Good", "capacity_pool": "normal"}
    assert not storage.ROW_STYLE.style(good)
    assert storage.ROW_STYLE.style({**good, "capacity_pool": "emergency"}) == "red"
    assert storage.ROW_STYLE.style({**good, "consistency": "Needs-resync"}) == "yellow"
    assert storage.ROW_STYLE.style({**good, "reachability": "Offline", "capacity_pool": "low"}) == "red"
