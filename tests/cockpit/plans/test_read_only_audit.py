"""A `--read-only` plan refusal is audited like any refused action."""

from __future__ import annotations

from cockpit.audit import AuditLog
from cockpit.cli import main


def test_read_only_plan_refusal_writes_an_audit_record(tmp_path, capsys):
    audit = tmp_path / "audit.jsonl"
    cfg = tmp_path / "cockpit.yaml"
    cfg.write_text(f"cockpit:\n  audit_log: {audit}\n")
    plan = tmp_path / "ro.yaml"
    plan.write_text("plan: ro\nsteps:\n  - {id: b, action: vm.start, params: {name: hpc-controller}}\n")
    assert main(["--config", str(cfg), "--read-only", "--run", str(plan), "--report-dir", str(tmp_path / "r")]) == 2
    records = list(AuditLog(audit).records())
    assert [r["event"] for r in records] == ["plan.refused"]
    assert records[0]["plan"] == "ro" and "vm.start (change) is refused in read-only mode" in records[0]["reason"]
