"""cockpit/job_efficiency.py on real sacct JSON: the lab's recording of a CPU burner, a sleeper
and a two-node memory-hungry srun job (tests/fixtures/slurm/efficiency), and every recorded
release's job mix (tests/fixtures/slurm/recorded/*/sacct*.json). The seff formulas are checked
against the raw JSON values, read here without the parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.slurm.parse import parse_history
from cockpit.job_efficiency import annotate_history, efficiency_lines, job_efficiency

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"
LAB = FIXTURES / "efficiency" / "sacct_22.05.json"
RECORDED = sorted((FIXTURES / "recorded").glob("*/sacct*.json"))


def raw_jobs(path: Path) -> dict[str, dict]:
    return {j["name"]: j for j in json.loads(path.read_text())["jobs"]}


def by_name(path: Path) -> dict:
    return {h.name: h for h in parse_history(json.loads(path.read_text()))}


def _raw_cpu_s(step: dict) -> float:
    total = step["time"]["total"]
    return total["seconds"] + total["microseconds"] / 1e6


def test_burner_high_sleeper_low_as_seff_computes_it():
    jobs, raw = by_name(LAB), raw_jobs(LAB)
    burn, sleepy = job_efficiency(jobs["burn"]), job_efficiency(jobs["sleepy"])
    assert burn.cpu_pct > 60 and sleepy.cpu_pct < 5, (burn, sleepy)
    # seff: sum of the steps' TotalCPU over elapsed x allocated CPUs
    r = raw["burn"]
    cput = sum(_raw_cpu_s(s) for s in r["steps"])
    alloc_cpus = next(t["count"] for t in r["tres"]["allocated"] if t["type"] == "cpu")
    assert burn.cpu_pct == pytest.approx(100 * cput / (r["time"]["elapsed"] * alloc_cpus), abs=0.01)
    assert not burn.partial and burn.memory_used_bytes is None  # 6 s: never sampled at 30 s


def test_multi_node_srun_step_memory_is_the_sum_of_its_task_peaks():
    job, raw = by_name(LAB)["mem-hungry"], raw_jobs(LAB)["mem-hungry"]
    eff = job_efficiency(job)
    totals = [next((t["count"] for t in s["tres"]["requested"]["total"] if t["type"] == "mem"), 0) for s in raw["steps"]]
    maxes = [next((t["count"] for t in s["tres"]["requested"]["max"] if t["type"] == "mem"), 0) for s in raw["steps"]]
    assert eff.memory_used_bytes == max(totals) > max(maxes) >= 200 * 1024 * 1024  # two tasks add up
    req_mb = next(t["count"] for t in raw["tres"]["requested"] if t["type"] == "mem")
    assert eff.memory_basis == "requested" and eff.memory_of_bytes == req_mb * 1024 * 1024
    assert eff.memory_pct == pytest.approx(100 * max(totals) / (req_mb * 1024 * 1024), abs=0.01)
    assert eff.nodes == 2 and eff.cpus == 2
    # every step counts once: batch + the srun step
    assert eff.cpu_time_s == pytest.approx(sum(_raw_cpu_s(s) for s in raw["steps"]), abs=0.001)
    text = "\n".join(efficiency_lines(eff))
    assert "memory" in text and "requested" in text and f"{eff.memory_pct:.1f}%" in text


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recorded_job_mix(path):
    for job in parse_history(json.loads(path.read_text())):
        eff = job_efficiency(job)
        if job.state == "PENDING":
            assert eff is None
            continue
        assert eff is not None and eff.partial == (job.state == "RUNNING"), (job.state, eff)
        assert eff.cpus == job.cpus and eff.gpus == job.gpus
        if eff.cpu_pct is not None:
            assert 0 <= eff.cpu_pct <= 100
        if job.gpus:  # the lab's fake GPUs gather nothing: said, not guessed
            assert eff.gpu_util_pct is None and any("GPU" in n for n in eff.notes)


def test_gpu_tres_usage_over_the_allocated_gpus():
    """gres/gpuutil and gres/gpumem as jobacct_gather reports them with AcctGatherGpu (not
    recordable on this lab, which has no GPUs): the lab's own mem-hungry record, with the two
    TRES the NVML gatherer adds to the srun step's usage."""
    job = by_name(LAB)["mem-hungry"]
    step = next(s for s in job.steps if s.step_id.endswith(".0"))
    gpu_step = step.model_copy(update={"usage_total": {**step.usage_total, "gres/gpuutil": 90, "gres/gpumem": 3 << 30}})
    job = job.model_copy(update={"gpus": 2, "steps": tuple(gpu_step if s is step else s for s in job.steps)})
    eff = job_efficiency(job)
    assert eff.gpu_util_pct == 45.0 and eff.gpu_memory_bytes == 3 << 30
    assert not any("GPU" in n for n in eff.notes)


def test_snapshot_document_history_items_carry_efficiency():
    jobs = json.loads(LAB.read_text())
    doc = {"slurm": {"accounting": {"jobs": [h.model_dump(mode="json") for h in parse_history(jobs)]}}}
    annotate_history(doc)
    effs = {j["name"]: j["efficiency"] for j in doc["slurm"]["accounting"]["jobs"]}
    assert effs["burn"]["cpu_pct"] > 60 and effs["sleepy"]["cpu_pct"] < 5
    assert json.dumps(doc)  # JSON-ready
