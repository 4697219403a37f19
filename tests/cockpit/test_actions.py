"""The action layer against the real libvirt library (test driver, demo host): audited before and
after, read-only and viewer refusals audited, confirmation required, GPU holder conflicts refused."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, SecretStr

from cockpit.actions import (
    ActionRefused, ActionRegistry, Actor, Danger, InvalidParams, NeedsConfirmation, UnknownAction,
)
from cockpit.audit import AuditLog, redact
from cockpit.runtime import build_runtime

OPERATOR = Actor(name="alice", via="test")
VIEWER = Actor(name="bob", via="ssh", role="viewer", key_fingerprint="SHA256:abc")


@pytest.fixture
def runtime(demo_loaded, tmp_path):
    rt = build_runtime(demo_loaded, audit_path=tmp_path / "audit.jsonl", sources=("vms", "gpus"))
    yield rt


def vm_state(runtime, name):
    conn = runtime.adapter("vms").host()
    return conn.run(lambda c: c.lookupByName(name).state()[0])


async def test_shutdown_and_start_a_vm_for_real_with_audit(runtime):
    assert vm_state(runtime, "hpc-controller") == 1
    result = await runtime.dispatcher.invoke("vm.shutdown", {"name": "hpc-controller"}, actor=OPERATOR, confirmed=True)
    assert result.ok, result.error
    assert vm_state(runtime, "hpc-controller") == 5  # the test driver shuts off at once
    result = await runtime.dispatcher.invoke("vm.start", {"name": "hpc-controller"}, actor=OPERATOR, confirmed=True)
    assert result.ok and result.outputs["result"] == "started"
    assert vm_state(runtime, "hpc-controller") == 1
    records = list(runtime.audit.records())
    assert [r["event"] for r in records] == ["action.start", "action.end", "action.start", "action.end"]
    start, end = records[0], records[1]
    assert start["id"] == end["id"] and start["action"] == "vm.shutdown"
    assert start["actor"] == {"name": "alice", "via": "test", "role": "operator"}
    assert start["params"]["name"] == "hpc-controller" and start["params"]["host"] is None
    assert "ACPI shutdown to VM hpc-controller" in start["confirmation"]
    assert end["ok"] is True and end["duration_s"] >= 0


async def test_snapshot_follows_the_action(runtime):
    await runtime.hub.fetch_all()
    result = await runtime.dispatcher.invoke("vm.force_off", {"name": "hpc-compute-02"}, actor=OPERATOR, confirmed=True)
    assert result.ok
    snaps = await runtime.hub.fetch_all()
    vm = next(v for v in snaps["vms"].items.values() if v.name == "hpc-compute-02")
    assert vm.state == "shutoff"
    gpu = next(g for g in snaps["gpus"].items.values() if g.pci_address == "0000:41:00.0")
    assert gpu.assigned_to == "hpc-compute-02"  # still defined there, no longer running


async def test_start_is_refused_when_a_running_vm_holds_the_gpu(runtime):
    conn = runtime.adapter("vms").host()
    xml = """<domain type='test'><name>thief</name><memory unit='GiB'>4</memory><vcpu>2</vcpu>
      <os><type arch='x86_64'>hvm</type></os><devices>
      <hostdev mode='subsystem' type='pci' managed='yes'><source>
        <address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source></hostdev>
      </devices></domain>"""
    conn.run(lambda c: c.defineXML(xml))
    with pytest.raises(ActionRefused, match="0000:41:00.0 is held by running VM hpc-compute-02"):
        await runtime.dispatcher.invoke("vm.start", {"name": "thief"}, actor=OPERATOR, confirmed=True)
    assert vm_state(runtime, "thief") == 5
    snaps = await runtime.hub.fetch_all()
    gpu = next(g for g in snaps["gpus"].items.values() if g.pci_address == "0000:41:00.0")
    assert set(gpu.holders) == {"hpc-compute-02", "thief"} and gpu.assigned_to == "hpc-compute-02"


async def test_change_needs_confirmation_and_nothing_runs_without_it(runtime):
    with pytest.raises(NeedsConfirmation) as exc:
        await runtime.dispatcher.invoke("vm.force_off", {"name": "hpc-controller"}, actor=OPERATOR)
    assert "Pull the plug on VM hpc-controller" in exc.value.text
    assert vm_state(runtime, "hpc-controller") == 1
    assert list(runtime.audit.records()) == []


async def test_read_only_mode_refuses_and_audits(demo_loaded, tmp_path):
    rt = build_runtime(demo_loaded, audit_path=tmp_path / "a.jsonl", read_only=True, sources=("vms",))
    with pytest.raises(ActionRefused, match="read-only mode"):
        await rt.dispatcher.invoke("vm.shutdown", {"name": "hpc-controller"}, actor=OPERATOR, confirmed=True)
    assert vm_state(rt, "hpc-controller") == 1
    (record,) = list(rt.audit.records())
    assert record["event"] == "action.refused" and record["action"] == "vm.shutdown"


async def test_viewer_role_is_refused_with_fingerprint_in_audit(runtime):
    with pytest.raises(ActionRefused, match="role viewer"):
        await runtime.dispatcher.invoke("vm.start", {"name": "hpc-controller"}, actor=VIEWER, confirmed=True)
    (record,) = list(runtime.audit.records())
    assert record["actor"]["key_fingerprint"] == "SHA256:abc" and record["actor"]["role"] == "viewer"


async def test_bad_params_and_unknown_actions(runtime):
    with pytest.raises(InvalidParams, match="action vm.start: name: String should have at least 1 character"):
        await runtime.dispatcher.invoke("vm.start", {"name": ""}, actor=OPERATOR, confirmed=True)
    with pytest.raises(InvalidParams, match="name: Field required"):
        await runtime.dispatcher.invoke("vm.start", {}, actor=OPERATOR, confirmed=True)
    with pytest.raises(UnknownAction, match="unknown action 'vm.explode'"):
        await runtime.dispatcher.invoke("vm.explode", {}, actor=OPERATOR)
    result = await runtime.dispatcher.invoke("vm.start", {"name": "no-such-vm"}, actor=OPERATOR, confirmed=True)
    assert not result.ok and "no VM named 'no-such-vm' on workstation" in result.error
    events = [r["event"] for r in runtime.audit.records()]
    assert events == ["action.invalid", "action.invalid", "action.invalid", "action.start", "action.end"]


async def test_secrets_never_reach_the_audit_log(runtime, tmp_path):
    class Login(BaseModel):
        user: str
        password: SecretStr
        jwt_token: str

    registry = ActionRegistry()
    seen = {}

    @registry.action("test.login", Login, Danger.READ)
    async def login(ctx, p):
        seen["password"] = p.password.get_secret_value()
        return {"token": "s3cr3t-token", "user": p.user}

    runtime.dispatcher.registry = registry
    await runtime.dispatcher.invoke("test.login", {"user": "u", "password": "hunter2", "jwt_token": "eyJabc"}, actor=OPERATOR)
    raw = (tmp_path / "audit.jsonl").read_text()
    assert seen["password"] == "hunter2"
    assert "hunter2" not in raw and "eyJabc" not in raw and "s3cr3t-token" not in raw
    assert json.loads(raw.splitlines()[-1])["result"]["token"] == "***"


def test_redact_is_recursive():
    assert redact({"a": {"SLURM_JWT": "x", "list": [{"password": "p"}]}, "ok": 1}) == \
        {"a": {"SLURM_JWT": "***", "list": [{"password": "***"}]}, "ok": 1}


def test_audit_records_are_appended_and_fsynced(tmp_path, monkeypatch):
    import os

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    log = AuditLog(tmp_path / "deep" / "audit.jsonl")
    log.write({"event": "one"})
    log.write({"event": "two"})
    assert [r["event"] for r in log.records()] == ["one", "two"]
    assert len(synced) == 2
    assert oct((tmp_path / "deep" / "audit.jsonl").stat().st_mode & 0o777) == "0o600"


async def test_policy_is_checked_once_per_action_and_a_ticket_is_for_its_actor(runtime, monkeypatch):
    from cockpit.actions import Dispatcher

    checks = []
    real_allowed = Dispatcher.allowed
    monkeypatch.setattr(Dispatcher, "allowed", lambda self, action, actor: checks.append(action.name) or real_allowed(self, action, actor))
    ticket = await runtime.dispatcher.authorize("vm.shutdown", {"name": "hpc-controller"}, actor=OPERATOR)
    result = await runtime.dispatcher.invoke("vm.shutdown", {"name": "hpc-controller"}, actor=OPERATOR,
                                             confirmed=True, authorized=ticket)
    assert result.ok, result.error
    assert checks == ["vm.shutdown"]
    with pytest.raises(ActionRefused, match="not for this call"):
        await runtime.dispatcher.invoke("vm.start", {"name": "hpc-controller"}, actor=VIEWER, confirmed=True,
                                        authorized=ticket)
    with pytest.raises(ActionRefused, match="role viewer"):
        await runtime.dispatcher.authorize("vm.start", {"name": "hpc-controller"}, actor=VIEWER)
    events = [(r["event"], r["action"]) for r in runtime.audit.records()]
    assert events == [("action.start", "vm.shutdown"), ("action.end", "vm.shutdown"), ("action.refused", "vm.start")]
    await runtime.dispatcher.invoke("vm.start", {"name": "hpc-controller"}, actor=OPERATOR, confirmed=True)
