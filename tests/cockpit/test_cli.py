"""The `cockpit` command as users run it: one-shot JSON, table, actions, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cockpit(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True, text=True, cwd=REPO,
                          env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)


def test_snapshot_json_with_no_config_has_six_sources_with_sensible_statuses():
    run = cockpit("snapshot", "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert list(doc) == ["vms", "gpus", "slurm", "storage", "kubernetes", "mlflow", "links", "gpu_use"]
    links, gpu_use = doc.pop("links"), doc.pop("gpu_use")
    # the demo has no cluster config: the GPU map stops at the VM each GPU is passed to
    vm_keys = {v["host"] + "/" + v["uuid"]: v["name"] for v in doc["vms"]["items"]}
    passed = {lk["from"]["key"]: vm_keys[lk["to"]["key"]] for lk in links if lk["relation"] == "passed_to"}
    assert passed == {"workstation/0000:01:00.0": "hpc-compute-01", "workstation/0000:41:00.0": "hpc-compute-02",
                      "workstation/0000:c1:00.0": "cloud-gpu-worker-01"}
    assert {lk["relation"] for lk in links} == {"passed_to"}
    assert gpu_use["idle_below_pct"] == 5.0 and gpu_use["idle_for_s"] == 600.0
    assert {g["gpu"] for g in gpu_use["gpus"]} == {f"workstation/{a}" for a in ("0000:01:00.0", "0000:41:00.0", "0000:81:00.0", "0000:c1:00.0")}
    for name, source in doc.items():
        assert set(source) >= {"status", "fetched_at", "error", "items"}, name
        assert source["status"] in ("ok", "error", "unconfigured")
    assert doc["vms"]["status"] == "ok" and len(doc["vms"]["items"]) == 5
    assert {v["name"] for v in doc["vms"]["items"]} >= {"hpc-controller", "hpc-compute-01", "cloud-gpu-worker-01"}
    vm = next(v for v in doc["vms"]["items"] if v["name"] == "hpc-compute-01")
    assert vm["gpus"] == ["0000:01:00.0", "0000:01:00.1"] and vm["state"] == "running" and vm["memory_mib"] == 16384
    assert doc["gpus"]["status"] == "ok"
    assert {g["pci_address"] for g in doc["gpus"]["items"]} == {"0000:01:00.0", "0000:41:00.0", "0000:81:00.0", "0000:c1:00.0"}
    for name in ("slurm", "storage", "kubernetes"):
        assert doc[name]["status"] == "unconfigured" and doc[name]["hint"], name
    assert doc["mlflow"]["status"] == "ok" and doc["mlflow"]["fetched_at"]
    assert "INFO" not in run.stderr  # library chatter stays out of one-shot output


def test_non_interactive_default_prints_the_table():
    run = cockpit()
    assert run.returncode == 0, run.stderr
    assert "== vms: ok, 5 items" in run.stdout
    assert "hpc-compute-01" in run.stdout
    assert "== slurm: unconfigured" in run.stdout


def test_unknown_source_and_bad_usage_exit_2():
    assert cockpit("snapshot", "--sources", "vms,nope").returncode == 2
    assert cockpit("snapshot", "--format", "xml").returncode == 2
    assert cockpit("--config", "/nonexistent.yaml", "snapshot").returncode == 2


def test_action_run_needs_yes_then_runs_and_read_only_refuses(tmp_path):
    listed = cockpit("action", "list")
    assert listed.returncode == 0 and "vm.start" in listed.stdout and "destroy" in listed.stdout
    unconfirmed = cockpit("action", "run", "vm.shutdown", "name=hpc-controller")
    assert unconfirmed.returncode == 2 and "re-run with --yes" in unconfirmed.stderr
    done = cockpit("action", "run", "vm.shutdown", "name=hpc-controller", "--yes")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["result"] == "shutdown requested"
    refused = cockpit("--read-only", "action", "run", "vm.shutdown", "name=hpc-controller", "--yes")
    assert refused.returncode == 1 and "read-only mode" in refused.stderr
    bad = cockpit("action", "run", "vm.start", "oops")
    assert bad.returncode == 2 and "expected key=value" in bad.stderr
    audit = Path(os.environ["XDG_STATE_HOME"]) / "cockpit" / "audit.jsonl"
    events = [json.loads(line)["event"] for line in audit.read_text().splitlines()]
    assert events == ["action.start", "action.end", "action.refused"]


def test_global_options_parse_before_or_after_the_subcommand():
    from cockpit.cli import build_parser

    parser = build_parser()
    after = parser.parse_args(["snapshot", "--config", "F", "--read-only", "--timeout", "5"])
    assert (after.config, after.read_only, after.timeout) == ("F", True, 5.0)
    before = parser.parse_args(["--config", "F", "--read-only", "snapshot"])
    assert (before.config, before.read_only, before.timeout) == ("F", True, 30.0)
    plain = parser.parse_args(["config", "path"])
    assert (plain.config, plain.read_only, plain.verbose) == (None, False, False)
    nested = parser.parse_args(["plan", "validate", "p.yaml", "--config", "G"])
    assert nested.config == "G" and nested.file == "p.yaml"


# libvirt's test driver reads a host description like this one (https://libvirt.org/drvtest.html).
USERS_HOST = """<node>
  <domain type='test'>
    <name>users-own-vm</name>
    <memory unit='MiB'>1024</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
  </domain>
</node>
"""


def test_libvirt_default_uri_replaces_the_demo_and_a_config_still_wins(tmp_path):
    host = tmp_path / "host.xml"
    host.write_text(USERS_HOST)
    env = {"LIBVIRT_DEFAULT_URI": f"test://{host}"}
    run = cockpit("snapshot", "--sources", "vms,slurm", env=env)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert [v["name"] for v in doc["vms"]["items"]] == ["users-own-vm"]
    assert doc["vms"]["settings_from"] == {"kind": "env", "where": "LIBVIRT_DEFAULT_URI"}
    assert doc["slurm"]["settings_from"] is None
    mine = tmp_path / "mine.yaml"
    mine.write_text("cockpit: {libvirt: {hosts: [{name: ws, uri: 'test:///default'}]}}\n")
    table = cockpit("snapshot", "--format", "table", "--sources", "vms", "--config", str(mine), "--read-only", env=env)
    assert table.returncode == 0, table.stderr
    assert f"settings from: config file {mine}" in table.stdout
    assert "users-own-vm" not in table.stdout and "\ntest  " in table.stdout


def test_config_validate_takes_the_config_option_when_no_file_is_named(tmp_path):
    """`cockpit config validate --config F` validates F (global options work after the subcommand)."""
    bad = tmp_path / "dup.yaml"
    bad.write_text('version: "1.0"\nversion: "2.0"\n')
    done = subprocess.run([sys.executable, "-m", "cockpit", "config", "validate", "--config", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "duplicate key 'version'" in done.stderr
