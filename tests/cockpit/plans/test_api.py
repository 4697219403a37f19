"""The Python API (cockpit.api), on the embedded default: libvirt test-driver VMs."""

from __future__ import annotations

import time
import pytest

from cockpit.api import ActionFailed, AsyncCockpit, Cockpit, ConditionNotMet


def test_start_a_vm_and_wait_for_it_in_a_few_lines(tmp_path):
    # The documented example's shape, with the actions this build has (VMs); the same calls
    # submit and wait for a SLURM job once slurm.submit exists.
    with Cockpit() as cockpit:
        cockpit.invoke("vm.start", name="cloud-gpu-worker-01")
        vm = cockpit.wait("vm", name="cloud-gpu-worker-01", state="running", timeout="30s", interval=0.1)
        gpu = cockpit.check("snapshot", source="gpus", where={"pci_address": "0000:c1:00.0"},
                            field="assigned_to", equals="cloud-gpu-worker-01")
    assert vm["state"] == "running" and "0000:c1:00.0" in vm["gpus"]
    assert gpu["value"] == "cloud-gpu-worker-01"
    audit = (tmp_path / "xdg_state_home" / "cockpit" / "audit.jsonl").read_text()
    assert '"via": "api"' in audit and "vm.start" in audit


def test_errors_are_exceptions_with_the_reason():
    with Cockpit() as cockpit:
        with pytest.raises(ActionFailed, match="no VM named 'nope'"):
            cockpit.invoke("vm.start", name="nope")
        with pytest.raises(ActionFailed, match="unknown action"):
            cockpit.invoke("vm.teleport", name="x")
        started = time.monotonic()
        with pytest.raises(ConditionNotMet, match="timed out after 0.3 s: vms item name='hpc-controller': state is 'running'"):
            cockpit.wait("vm", name="hpc-controller", state="paused", timeout=0.3, interval=0.05)
        assert time.monotonic() - started < 5
        with pytest.raises(ConditionNotMet, match="slurm is not configured"):
            cockpit.check("job", id=1)


def test_read_only_api_refuses_changes():
    with Cockpit(read_only=True) as cockpit:
        with pytest.raises(ActionFailed, match="read-only"):
            cockpit.invoke("vm.start", name="cloud-gpu-worker-01")


def test_run_a_plan_from_python(tmp_path):
    plan = tmp_path / "p.yaml"
    plan.write_text("""
plan: api
vars: {vm: hpc-compute-02}
steps:
  - {id: power_off, action: vm.force_off, params: {name: "${vm}"}}
  - {id: down, needs: power_off, wait: {vm: {name: "${vm}", state: shutoff}, interval: 50ms}, timeout: 10s}
""")
    with Cockpit() as cockpit:
        result = cockpit.run_plan(plan, report_dir=tmp_path / "r")
    assert result["verdict"] == "passed" and result["steps"] == {"power_off": "passed", "down": "passed"}
    assert (tmp_path / "r" / "junit.xml").exists()


async def test_async_api_inside_a_running_loop():
    cockpit = AsyncCockpit()
    try:
        snap = await cockpit.snapshot("vms")
        assert snap["status"] == "ok" and len(snap["items"]) == 5
        assert "vm.start" in cockpit.actions()
    finally:
        await cockpit.close()


def test_the_docstring_example_is_ten_lines_or_fewer():
    import cockpit.api as api

    doc = (api.__doc__ or "").splitlines()
    start = next(i for i, l in enumerate(doc) if l.strip() == "from cockpit.api import Cockpit")
    lines = []
    for line in doc[start:]:
        if line.strip() and not line.startswith("    "):
            break
        if line.strip():
            lines.append(line)
    assert len(lines) <= 10 and any("invoke(\"slurm.submit\"" in l for l in lines)
    assert any("wait(\"job\"" in l for l in lines)
