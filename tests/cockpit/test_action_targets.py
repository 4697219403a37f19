"""Change and destroy actions re-read their target before acting: a name or id that points at
something else than the confirmation showed is refused (real libvirt test driver)."""

from __future__ import annotations

import re

import pytest

from cockpit.actions import ActionRefused, Actor
from cockpit.runtime import build_runtime

OPERATOR = Actor(name="alice", via="test")


@pytest.fixture
def runtime(demo_loaded, tmp_path):
    return build_runtime(demo_loaded, audit_path=tmp_path / "audit.jsonl", sources=("vms", "gpus"))


def host(runtime):
    return runtime.adapter("vms").host()


def redefine_with_new_uuid(runtime, name: str) -> None:
    def redo(conn):
        dom = conn.lookupByName(name)
        if dom.isActive():
            dom.destroy()
        xml = re.sub(r"<uuid>[^<]*</uuid>", "", dom.XMLDesc(0))
        dom.undefine()
        conn.defineXML(xml)

    host(runtime).run(redo)


async def test_vm_replaced_under_the_same_name_after_confirmation_is_refused(runtime):
    prepared = runtime.dispatcher.prepare("vm.start", {"name": "hpc-controller"})
    shown = await runtime.dispatcher.read_target(prepared, OPERATOR)
    assert shown.startswith("VM hpc-controller on ") and "uuid" in shown
    redefine_with_new_uuid(runtime, "hpc-controller")  # someone else, between confirm and run
    with pytest.raises(ActionRefused, match="target changed since the confirmation"):
        await runtime.dispatcher.invoke("vm.start", {"name": "hpc-controller"}, actor=OPERATOR, confirmed=True,
                                        expect_target=shown)
    assert host(runtime).run(lambda c: c.lookupByName("hpc-controller").isActive()) == 0  # not started
    records = list(runtime.audit.records())
    assert [r["event"] for r in records] == ["action.refused"] and shown in records[0]["reason"]


async def test_same_target_runs_and_the_audit_shows_it(runtime):
    prepared = runtime.dispatcher.prepare("vm.force_off", {"name": "hpc-compute-02"})
    shown = await runtime.dispatcher.read_target(prepared, OPERATOR)
    result = await runtime.dispatcher.invoke("vm.force_off", {"name": "hpc-compute-02"}, actor=OPERATOR,
                                             confirmed=True, expect_target=shown)
    assert result.ok, result.error
    start = next(r for r in runtime.audit.records() if r["event"] == "action.start")
    assert f"Target: {shown}" in start["confirmation"]


async def test_confirmed_target_that_vanished_is_refused(runtime):
    prepared = runtime.dispatcher.prepare("vm.force_off", {"name": "hpc-compute-02"})
    shown = await runtime.dispatcher.read_target(prepared, OPERATOR)
    host(runtime).run(lambda c: (c.lookupByName("hpc-compute-02").destroy(), c.lookupByName("hpc-compute-02").undefine()))
    with pytest.raises(ActionRefused, match="nothing was done"):
        await runtime.dispatcher.invoke("vm.force_off", {"name": "hpc-compute-02"}, actor=OPERATOR, confirmed=True,
                                        expect_target=shown)
