"""The provisioning actions through the audited dispatcher, with real ansible-runner runs."""

from __future__ import annotations

import re

import asyncio
import json
import sys
from pathlib import Path

import pytest

from cockpit.actions import ActionRefused
import yaml

from cockpit.actions import InvalidParams, NeedsConfirmation, local_actor
from cockpit.config import parse_config
from cockpit.runtime import build_runtime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ansible"


@pytest.fixture
async def runtime(tmp_path):
    hpc = yaml.safe_load((FIXTURES / "hpc_gpu_list.yaml").read_text())
    hpc["cockpit"] = {"ansible": {"project_dir": str(FIXTURES / "project"), "private_data_dir": str(tmp_path / "pdd"),
                                  "keep_artifacts": 5},
                      "audit_log": str(tmp_path / "audit.jsonl")}
    loaded = parse_config(yaml.safe_dump(hpc), "test")
    rt = build_runtime(loaded, sources=())
    yield rt
    await rt.close()  # cancels any run still going


def _local_inventory(tmp_path: Path, **extra) -> str:
    path = tmp_path / "local.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"here": {"ansible_connection": "local",
                                                              "ansible_python_interpreter": sys.executable, **extra}},
                                            "vars": {"marker_dir": str(tmp_path)}}}))
    return str(path)


def _audit(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


async def test_run_is_audited_streamed_and_keeps_secrets_out(runtime, tmp_path):
    snaps = []
    params = {"playbook": "events.yml", "inventory": _local_inventory(tmp_path),
              "extravars": {"wants_debug": True}, "secret_vars": {"db_password": "hunter2-secret"}}
    with pytest.raises(NeedsConfirmation, match="Run Ansible playbook events.yml on every host of inventory"):
        await runtime.dispatcher.invoke("ansible.run", params, actor=local_actor("api"))
    runtime.provisioning()
    runtime.hub.collectors["provisioning"].subscribe(snaps.append)
    result = await runtime.invoke("ansible.run", params)
    assert result.ok, result.error
    assert result.outputs["status"] == "successful" and result.outputs["stats"]["here"]["changed"] == 1
    assert snaps and snaps[-1].sections["run"].status == "successful"
    assert {r.task for r in snaps[-1].items.values()} >= {"Say hello", "Only on hosts that want it"}
    records = _audit(tmp_path)
    assert [r["event"] for r in records] == ["action.start", "action.end"]
    text = (tmp_path / "audit.jsonl").read_text()
    assert "hunter2-secret" not in text and "db_password" not in text


async def test_failed_run_is_a_failed_action_naming_the_task(runtime, tmp_path):
    result = await runtime.invoke("ansible.run", {"playbook": "events.yml",
                                                  "inventory": _local_inventory(tmp_path, must_fail=True)})
    assert not result.ok
    assert "failed (rc=2); here / Fail on purpose: disk quota exceeded on here" in result.error
    assert _audit(tmp_path)[-1]["ok"] is False


async def test_check_mode_is_read_only_and_confined_to_the_project(runtime, tmp_path):
    inventory = _local_inventory(tmp_path)
    result = await runtime.dispatcher.invoke("ansible.check", {"playbook": "events.yml", "inventory": inventory},
                                             actor=local_actor("api"))  # READ: no confirmation needed
    assert result.ok and result.outputs["check"] is True
    change = next(c for c in result.outputs["changes"] if c["task"] == "Write a marker file")
    assert "+marker here" in change["diff"]
    assert not (tmp_path / "here.txt").exists()
    with pytest.raises(ActionRefused, match=re.escape("dry runs take a playbook of the project dir")):
        await runtime.dispatcher.invoke("ansible.check", {"playbook": "/etc/evil.yml", "inventory": inventory},
                                              actor=local_actor("api"))


async def test_secrets_in_clear_are_refused(runtime):
    with pytest.raises(InvalidParams, match="mlflow_db_password look like secrets: pass them in secret_vars"):
        await runtime.invoke("ansible.run", {"playbook": "events.yml", "extravars": {"mlflow_db_password": "x"}})


async def test_cancel_action(runtime, tmp_path):
    inventory = _local_inventory(tmp_path)
    run = asyncio.create_task(runtime.invoke("ansible.run", {"playbook": "events.yml", "inventory": inventory,
                                                             "extravars": {"slow": 60}}))
    source = runtime.provisioning()
    for _ in range(600):
        state = source.current()
        if state and any(r.task == "Sleep when asked" and r.status == "running" for r in state.rows()):
            break
        await asyncio.sleep(0.1)
    cancel = await runtime.invoke("ansible.cancel", {})
    assert cancel.ok and cancel.outputs["status"] == "canceled"
    result = await run
    assert not result.ok and "canceled" in result.error


async def test_inventory_action_uses_the_config(runtime):
    result = await runtime.invoke("ansible.inventory", {"format": "ini"})
    assert result.ok
    assert result.outputs["hosts"] == ["hpc-compute-01", "hpc-compute-02", "hpc-controller"]
    assert "[hpc_gpu_nodes]" in result.outputs["text"]


async def test_generated_inventory_is_used_when_none_is_given(runtime, tmp_path):
    # The config's hosts are VMs that do not exist here: the run must fail as unreachable,
    # which proves the generated inventory (not localhost) was used.
    result = await runtime.invoke("ansible.run", {"playbook": "events.yml", "limit": "hpc-controller",
                                                  "extravars": {"ansible_ssh_common_args": "-o ConnectTimeout=1"}})
    assert not result.ok and "hpc-controller / Say hello" in result.error
    generated = list((tmp_path / "pdd" / "inventories").glob("*.yml"))
    assert len(generated) == 1 and "hpc-controller" in generated[0].read_text()
