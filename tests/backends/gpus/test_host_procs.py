"""Host processes on a GPU: command and cgroup from /proc, the owner from the cgroup
(the cgroup files are the recorded/quoted ones in tests/fixtures/cgroups)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from backends.gpus.host_procs import describe_process
from backends.gpus.nvml import NvmlReader
from tests.backends.gpus.fake_pynvml import FakeNVML

CGROUPS = Path(__file__).resolve().parents[2] / "fixtures" / "cgroups"


def fake_proc(root: Path, pid: int, comm: str, cgroup_fixture: str) -> None:
    (root / str(pid)).mkdir(parents=True)
    (root / str(pid) / "comm").write_text(comm + "\n")
    shutil.copy(CGROUPS / cgroup_fixture, root / str(pid) / "cgroup")


def test_a_slurm_task_names_its_job(tmp_path):
    fake_proc(tmp_path, 4242, "python", "slurm-v2-step.txt")
    assert describe_process(4242, tmp_path) == {
        "command": "python", "cgroup": "/system.slice/slurmstepd.scope/job_1392969/step_0/user/task_0",
        "owner_kind": "slurm_job", "owner_id": "1392969", "owner_detail": "0"}


def test_a_gone_or_invisible_pid_is_left_undescribed(tmp_path):
    assert describe_process(999999, tmp_path) == dict.fromkeys(
        ("command", "cgroup", "owner_kind", "owner_id", "owner_detail"))
    assert describe_process(0, tmp_path)["command"] is None


def test_this_process_for_real():
    described = describe_process(os.getpid())
    assert described["command"] and described["command"].startswith(("python", "pytest"))
    assert described["cgroup"] and described["cgroup"].startswith("/")


def test_nvml_processes_carry_command_and_owner(tmp_path, h100_fixtures):
    snapshot = json.loads((h100_fixtures / "nvml_h100.json").read_text())
    snapshot["devices"][0]["procs"] = [{"pid": 4242, "usedGpuMemory": 2 << 30}]
    (tmp_path / "nvml.json").write_text(json.dumps(snapshot))
    fake = FakeNVML.from_json(tmp_path / "nvml.json", bus_ids=["00000000:00:06.0", "00000000:41:00.0"])
    fake_proc(tmp_path / "proc", 4242, "torchrun", "pod-guaranteed-containerd.txt")
    readings = NvmlReader(fake.module(), proc_root=str(tmp_path / "proc")).read()
    (proc,) = readings["0000:00:06.0"].processes
    assert (proc.pid, proc.used_memory_mib, proc.command) == (4242, 2048, "torchrun")
    assert (proc.owner_kind, proc.owner_id) == ("pod", "d80f4a0e-576f-47a8-a0cf-69dc23dc1980")


def test_the_fake_replaying_the_h200_recording_reads_as_the_real_driver_did(tmp_path):
    """nvml_h200_busy.json was recorded on a real H200 under a torch job; cockpit_nvml_reader.json
    is what NvmlReader returned there through the real pynvml. Replayed through the fake, the
    same reader must give the same device facts and the same process (a sandbox cgroup: no owner)."""
    h200 = Path(__file__).resolve().parents[2] / "fixtures" / "nvml-h200"
    real = json.loads((h200 / "cockpit_nvml_reader.json").read_text())["readings"]["0000:00:06.0"]
    recorded = json.loads((h200 / "nvml_h200_busy.json").read_text())
    info = recorded["devices"][0]["proc_info"][0]
    (tmp_path / "proc" / str(info["pid"])).mkdir(parents=True)
    (tmp_path / "proc" / str(info["pid"]) / "comm").write_text(info["comm"])
    (tmp_path / "proc" / str(info["pid"]) / "cgroup").write_text(info["cgroup"])
    fake = FakeNVML.from_json(h200 / "nvml_h200_busy.json")
    reading = NvmlReader(fake.module(), proc_root=str(tmp_path / "proc")).read()["0000:00:06.0"]
    assert (reading.name, reading.uuid[:-2], reading.memory_total_mib) == (real["name"], real["uuid"][:-2], real["memory_total_mib"])
    assert reading.utilization_pct == real["utilization_pct"] == 100
    (proc,) = reading.processes
    assert proc.model_dump() == real["processes"][0]
