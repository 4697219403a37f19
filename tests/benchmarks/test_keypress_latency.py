"""The benchmark's SLURM stand-ins: scaled recorded output that the real transport and parser read."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from backends.slurm import parse
from backends.slurm.transport import CliTransport, LocalRunner, decode_json
from benchmarks.keypress_latency import scaled_squeue, slurm_stubs, stub_calls


def test_scaled_queue_parses_to_n_distinct_jobs_and_generation_1_changes_some():
    now = datetime.now(timezone.utc)
    first = parse.parse_jobs(decode_json(scaled_squeue(200, 0), "squeue"), now)
    second = parse.parse_jobs(decode_json(scaled_squeue(200, 1), "squeue"), now)
    assert len({j.key() for j in first}) == 200
    before = {j.key(): j.state for j in first}
    changed = [j for j in second if before[j.key()] != j.state]
    assert 0 < len(changed) <= 200 // 20


async def test_stubs_answer_the_real_cli_transport_and_log_each_call(tmp_path, monkeypatch):
    bin_dir = slurm_stubs(tmp_path, 50)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    transport = CliTransport(LocalRunner(None))
    jobs = parse.parse_jobs(await transport.jobs_doc(), datetime.now(timezone.utc))
    nodes = parse.parse_nodes(await transport.nodes_doc())
    assert len(jobs) == 50 and nodes
    assert transport.slurm_version == "24.11.5"
    assert stub_calls(tmp_path) == ["squeue --json --states=all", "sinfo --version", "scontrol show nodes --json"]
