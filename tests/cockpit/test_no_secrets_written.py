"""Plant secrets in every input and grep everything the cockpit writes: audit log, plan reports
(events.jsonl, junit.xml, summary.md, state aside), logs, one-shot output."""

from __future__ import annotations

import logging
from pathlib import Path

from cockpit.cli import main
from cockpit.redact import RedactingFilter, redact, register_secret, scrub

TOKEN = "hf_PLANTED_token_0001"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlcGxhbnRlZA"


def written(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {str(p): p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and p.name not in skip}


def test_plan_with_a_secret_variable_leaks_it_nowhere(tmp_path, capsys):
    audit = tmp_path / "audit.jsonl"
    cfg = tmp_path / "cockpit.yaml"
    cfg.write_text(f"cockpit:\n  audit_log: {audit}\n")
    plan = tmp_path / "leak.yaml"
    plan.write_text(f"""
plan: leak
vars:
  hf_token: {TOKEN}
steps:
  - id: submit
    action: slurm.submit
    params: {{name: leak, env: {{HF_TOKEN: "${{hf_token}}"}}, command: "echo ${{hf_token}}"}}
  - id: check
    assert: {{vm: {{name: "${{hf_token}}", state: running}}}}
""")
    report = tmp_path / "report"
    rc = main(["-v", "--config", str(cfg), "--run", str(plan), "--report-dir", str(report)])
    assert rc == 1
    out = capsys.readouterr()
    files = written(tmp_path, skip=("leak.yaml",))
    assert {Path(p).name for p in files} >= {"audit.jsonl", "events.jsonl", "junit.xml", "summary.md"}
    assert "action.start" in files[str(audit)]  # the submit's confirmation text was audited
    state = files.pop(str(report / "state.json"))
    assert state.count(TOKEN) == 1  # only inside plan_text, the plan the user wrote (resume re-reads it)
    leaks = [p for p, text in files.items() if TOKEN in text]
    assert leaks == [], leaks
    assert TOKEN not in out.out and TOKEN not in out.err


def test_scrub_rules():
    register_secret("registered-secret-value")
    assert scrub("export HF_TOKEN=abc123 && run") == "export HF_TOKEN=*** && run"
    assert scrub("http://bob:pa55word@mlflow:5000/") == "http://bob:***@mlflow:5000/"
    assert scrub(f"Bearer {JWT}") == "Bearer ***"
    assert scrub("x registered-secret-value y") == "x *** y"
    assert scrub("tokens_per_sec: 812.5") == "tokens_per_sec: 812.5"  # a metric, not a secret
    assert redact({"secret_vars": {"vault_pw": "v-pw-1234"}, "note": "v-pw-1234"}) == {"secret_vars": "***", "note": "***"}


def test_log_records_are_scrubbed(caplog):
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="test.redact"):
        logger.debug("tracking uri %s", "http://bob:hunter2pw@127.0.0.1:5000")
    assert "hunter2pw" not in caplog.text and "bob:***@" in caplog.text


def test_a_secret_var_is_not_kept_in_the_state_file_and_a_resume_asks_for_it(tmp_path, capsys):
    cfg = tmp_path / "cockpit.yaml"
    cfg.write_text(f"cockpit:\n  audit_log: {tmp_path / 'audit.jsonl'}\n")
    plan = tmp_path / "var.yaml"
    plan.write_text("""
plan: var
vars:
  hf_token: unset
steps:
  - id: check
    assert: {vm: {name: "${hf_token}", state: running}}
""")
    report = tmp_path / "report"
    rc = main(["--config", str(cfg), "--run", str(plan), "--var", f"hf_token={TOKEN}", "--report-dir", str(report)])
    assert rc == 1
    state_file = report / "state.json"
    state = state_file.read_text()
    assert TOKEN not in state
    assert '"secret_overrides": [\n    "hf_token"' in state or '"secret_overrides": ["hf_token"]' in state
    capsys.readouterr()
    rc = main(["--config", str(cfg), "--resume", str(state_file)])
    assert rc == 2
    assert "--var hf_token: a secret variable is not kept in the state file" in capsys.readouterr().err
    rc = main(["--config", str(cfg), "--resume", str(state_file), "--var", "hf_token=another-value-1"])
    assert rc == 2
    assert "differ from the ones the run started with" in capsys.readouterr().err
    rc = main(["--config", str(cfg), "--resume", str(state_file), "--var", f"hf_token={TOKEN}"])
    assert rc != 2, capsys.readouterr().err
    assert TOKEN not in state_file.read_text()
