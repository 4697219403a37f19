"""The pods table's STATUS cell and the pod detail say why a pod waits and what would help
(screens/render/kubernetes.py), on the pods of tests/fixtures/kube-pods."""

from __future__ import annotations

import json
from pathlib import Path

from backends.kube.models import PodItem
from screens.render.kubernetes import COLUMNS, detail

PODS = [PodItem.from_api(p) for p in json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "kube-pods" / "pending_pods.json").read_text())]


def status_cell(item) -> str:
    column = next(c for c in COLUMNS if c.title == "STATUS")
    return column.value(item)


def test_status_cell_pairs_kubectls_reason_with_why():
    by_name = {p.name: p for p in PODS}
    assert status_cell(by_name["insufficient-gpu"]) == "Unschedulable: not enough free GPUs on 3 nodes"
    assert status_cell(by_name["kueue-gated"]) == "SchedulingGated: waits for Kueue admission"


def test_detail_says_why_and_what_to_do():
    text = detail(next(p for p in PODS if p.name == "taint-and-gpu"))
    lines = text.splitlines()
    assert any(line.startswith("why waiting") and "untolerated" not in line and "taint" in line for line in lines)
    assert any(line.startswith("what to do") and "toleration" in line for line in lines)
