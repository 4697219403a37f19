"""The "Efficiency" block of the SLURM job detail (screens/render/slurm.py), from the accounting
record that the adapter's job_detail carries, as JSON (tests/fixtures/slurm/efficiency)."""

from __future__ import annotations

import json
from pathlib import Path

from backends.slurm.parse import parse_history
from screens.render.slurm import efficiency_block

LAB = Path(__file__).resolve().parents[1] / "fixtures" / "slurm" / "efficiency" / "sacct_22.05.json"
RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "slurm" / "recorded" / "26.05" / "sacct.json"


def dumps(path: Path) -> dict[str, dict]:
    return {h.name: h.model_dump(mode="json") for h in parse_history(json.loads(path.read_text()))}


def test_finished_jobs_show_cpu_and_memory_efficiency():
    jobs = dumps(LAB)
    burn = efficiency_block(jobs["burn"]).splitlines()
    assert burn[0] == "Efficiency" and burn[1].strip().startswith("CPU")
    cpu_pct = float(burn[1].split()[1].rstrip("%"))
    assert cpu_pct > 60
    hungry = efficiency_block(jobs["mem-hungry"])
    assert "MiB peak of 7.81 GiB requested" in hungry and "2 CPUs" in hungry


def test_running_job_says_so_and_pending_job_shows_nothing():
    jobs = {j["state"]: j for j in dumps(RECORDED).values()}
    assert efficiency_block(jobs["RUNNING"]).startswith("Efficiency (so far)")
    assert "still running" in efficiency_block(jobs["RUNNING"])
    assert efficiency_block(jobs["PENDING"]) == ""
    assert efficiency_block(None) == ""
