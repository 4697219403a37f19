"""The query seam (cockpit/query.py): on-demand reads find the adapter that offers them, say
clearly when none does, and write nothing to the audit log."""

from __future__ import annotations

import pytest

from backends.beegfs.probe import append_history
from backends.slurm.source import SlurmSource
from cockpit.actions import ActionRegistry
from cockpit.audit import AuditLog
from cockpit.config import parse_config
from cockpit.hub import Collector, Hub
from cockpit.query import Query, QueryUnavailable
from cockpit.runtime import CockpitRuntime
from cockpit.source_types import UnconfiguredSource


def runtime_of(tmp_path, *sources) -> CockpitRuntime:
    return CockpitRuntime(loaded=parse_config("", "t", env={}), hub=Hub([Collector(s) for s in sources]),
                          registry=ActionRegistry(), audit=AuditLog(tmp_path / "audit.jsonl"))


async def test_reads_find_their_adapter_and_leave_no_audit_record(tmp_path):
    out = tmp_path / "job.out"
    out.write_text("".join(f"line {i}\n" for i in range(30)))
    runtime = runtime_of(tmp_path, SlurmSource(transport=None))
    tail = await runtime.query.read_log_tail(str(out), 3)
    assert tail.splitlines() == ["line 27", "line 28", "line 29"]
    assert list(runtime.audit.records()) == []


async def test_an_unconfigured_or_missing_source_is_named(tmp_path):
    runtime = runtime_of(tmp_path, UnconfiguredSource("slurm", "set cockpit.slurm"))
    with pytest.raises(QueryUnavailable, match="slurm is not configured"):
        await runtime.query.job_detail(7)
    with pytest.raises(QueryUnavailable, match="slurm is not configured"):
        runtime.query.follow_job_log("/tmp/x.out")
    assert runtime.query.run_history() is None  # MLflow absent: the screens show their hint
    with pytest.raises(QueryUnavailable, match="mlflow is not part of this cockpit"):
        Query(runtime.adapter)._find("mlflow", object)


def test_probe_history_is_the_newest_probes_last(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for i in range(25):
        append_history({"at": f"2026-11-29T10:{i:02d}:00Z", "write_mb_s": 1000 + i})
    history = runtime_of(tmp_path).query.probe_history(20)
    assert len(history) == 20 and history[-1]["write_mb_s"] == 1024 and history[0]["write_mb_s"] == 1005
