"""Fixtures of the ansible tests.

A SLURM lab fed by our own roles: inventory from a cockpit config, every host on localhost.

The roles write into `<root>/<host>/etc` (slurm_conf_dir) and `<root>/<host>/munge`, never /etc;
packages and services are left alone (the test starts the daemons itself, on ports 19800+,
with the generated files). Fake GPUs are char devices (major 195, like /dev/nvidiaN): slurmd
only checks that gres.conf's File= entries exist, which is what it does on a real node too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cockpit.config import load_config
from cockpit.inventory import InventoryOptions, build_inventory, to_yaml, write_inventory

BASE_PORT = 19800
CTLD_PORT = BASE_PORT + 17
SLURMD_PORT0 = BASE_PORT + 100


def lab_inventory(config_path: Path, root: Path, mutate: Any = None, name: str = "inventory.yml") -> tuple[Path, Any]:
    """Write the lab inventory for `config_path`; returns (path, Inventory)."""
    loaded = load_config(config_path)
    if mutate is not None:
        mutate(loaded.config)
    inventory = build_inventory(loaded.config, InventoryOptions(python_interpreter=sys.executable))
    lab_vars = {
        "ansible_connection": "local",
        "provisioning_become": False,
        "munge_manage_packages": False, "munge_manage_services": False,
        "munge_key_owner": "root", "munge_key_group": "root",
        "munge_key_dir": f"{root}/{{{{ inventory_hostname }}}}/munge",
        "slurm_manage_packages": False, "slurm_manage_services": False,
        "slurm_user": "root",
        "slurm_conf_dir": f"{root}/{{{{ inventory_hostname }}}}/etc",
        "slurm_state_dir": f"{root}/state", "slurm_spool_dir": f"{root}/spool",
        "slurm_log_dir": f"{root}/log", "slurm_pid_dir": f"{root}/pids",
        "slurm_ctld_port": CTLD_PORT, "slurm_slurmd_port": SLURMD_PORT0,
        "slurm_auth_info": f"socket={root}/munge.socket",
        "slurm_proctrack_type": "proctrack/linuxproc", "slurm_task_plugin": "task/none",
        "slurm_select_parameters": "CR_Core", "slurm_config_overrides": True,
        "slurm_gpu_device_prefix": f"{root}/dev/nvidia",
        "slurm_extra_config": {"AccountingStorageType": "accounting_storage/none", "MinJobAge": 300},
    }
    inventory.data["all"].setdefault("vars", {}).update(lab_vars)
    for index, hostvars in enumerate(inventory.hosts().values()):
        hostvars.update(slurm_node_addr="127.0.0.1", slurm_node_hostname="localhost",
                        slurm_node_port=SLURMD_PORT0 + index)
    path = write_inventory(to_yaml(inventory), root / name)
    return path, inventory


def make_fake_gpus(root: Path, count: int) -> None:
    (root / "dev").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        dev = root / "dev" / f"nvidia{i}"
        if not dev.exists():
            os.mknod(dev, 0o666 | 0o020000, os.makedev(195, i))


def have_slurm() -> bool:
    return all(shutil.which(b) for b in ("slurmctld", "slurmd", "sinfo", "munged"))


class Daemons:
    """munged + slurmctld + one slurmd per node, from the files the roles generated."""

    def __init__(self, root: Path, conf_dir: Path, munge_key: Path, nodes: list[str]) -> None:
        self.root, self.conf, self.key, self.nodes = root, conf_dir / "slurm.conf", munge_key, nodes
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.pids: list[int] = []

    def _pid(self, name: str) -> int | None:
        path = self.root / "pids" / name
        for _ in range(100):
            if path.exists() and path.read_text().strip():
                return int(path.read_text().strip())
            time.sleep(0.05)
        return None

    def start(self) -> None:
        for d in ("pids", "state", "log", "spool"):
            (self.root / d).mkdir(exist_ok=True)
        subprocess.run(["munged", f"--socket={self.root}/munge.socket", f"--key-file={self.key}",
                        f"--log-file={self.root}/log/munged.log", f"--pid-file={self.root}/pids/munged.pid",
                        f"--seed-file={self.root}/munged.seed"], check=True, env=self.env)
        self._track("munged.pid")
        subprocess.run(["slurmctld", "-f", str(self.conf)], check=True, env=self.env)
        self._track("slurmctld.pid")
        for node in self.nodes:
            (self.root / "spool" / node).mkdir(parents=True, exist_ok=True)
            subprocess.run(["slurmd", "-f", str(self.conf), "-N", node], check=True, env=self.env)
            self._track(f"slurmd-{node}.pid")

    def _track(self, pidfile: str) -> None:
        pid = self._pid(pidfile)
        if pid:
            self.pids.append(pid)

    def sinfo(self, *args: str) -> str:
        return subprocess.run(["sinfo", *args], capture_output=True, text=True, env=self.env, timeout=20).stdout

    def wait_idle(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            out = self.sinfo("-h", "-N", "-o", "%N %t %G %P")
            states = [line.split()[1] for line in out.splitlines() if line.strip()]
            if states and all(s.rstrip("*") == "idle" for s in states) and len({l.split()[0] for l in out.splitlines()}) == len(self.nodes):
                return out
            time.sleep(0.2)
        return out

    def stop(self) -> None:
        subprocess.run(["scontrol", "shutdown"], env=self.env, capture_output=True, timeout=15)
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for pid in self.pids:
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def logs(self) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*.log")):
            out.append(f"== {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(out)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "ansible"
PROJECT = REPO / "provisioning" / "ansible"
SAMPLE = FIXTURES / "hpc_gpu_list.yaml"


@dataclass
class SlurmRuns:
    root: Path
    inventory: Path
    inventory_changed: Path
    first: Any
    second: Any
    check: Any
    snapshots: list[Any]
    runner: Any
    first_recorded: list[int]  # event counters in the first run's artifacts (rotated away later)


def _add_long_partition(config: Any) -> None:
    config.clusters.hpc.slurm_config.partitions.append("long")


@pytest.fixture(scope="session")
def private_tmp():
    """A temp dir of our own: pytest's basetemp under /tmp/pytest-of-<user> is rotated by any other
    pytest session of the same user, which can delete it under a long running fixture."""
    path = Path(tempfile.mkdtemp(prefix="cockpit-ansible-"))
    path.chmod(0o755)  # munged insists that every parent of its socket is searchable by all
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
async def slurm_runs(private_tmp: Path) -> SlurmRuns:
    """Three real ansible-runner runs of slurm.yml against localhost: the first configures, the
    second must change nothing, the third is a check-mode dry run after a config change."""
    if os.geteuid() != 0:
        pytest.skip("needs root: mknod for the fake GPU char devices")
    from backends.ansible.source import ProvisioningSource
    from backends.ansible.runner import PlaybookRunner
    from cockpit.hub import Collector, Timing

    root = private_tmp / "slurm-roles"
    root.mkdir()
    make_fake_gpus(root, 2)
    inventory, _ = lab_inventory(SAMPLE, root)
    inventory_changed, _ = lab_inventory(SAMPLE, root, mutate=_add_long_partition, name="inventory-changed.yml")

    source = ProvisioningSource(lambda on_change: PlaybookRunner(root / "pdd", PROJECT, keep=2, on_change=on_change),
                                flush_s=0.05)
    collector = Collector(source, Timing(interval=60, min_interval=0))
    source.bind(collector.push)
    snapshots: list[Any] = []
    collector.subscribe(snapshots.append)
    runner = source.runner
    first = await runner.wait((await runner.start("slurm.yml", inventory)).run_id, timeout=240)
    first_recorded = sorted(json.loads(p.read_text())["counter"]
                            for p in (Path(first.artifact_dir) / "job_events").glob("*.json"))
    second = await runner.wait((await runner.start("slurm.yml", inventory)).run_id, timeout=240)
    check = await runner.wait((await runner.start("slurm.yml", inventory_changed, check=True)).run_id, timeout=240)
    return SlurmRuns(root, inventory, inventory_changed, first, second, check, snapshots, runner, first_recorded)


@pytest.fixture
def slurm_daemons(slurm_runs: SlurmRuns):
    """SLURM daemons started from the files the first run generated (stopped afterwards)."""
    if not have_slurm():
        pytest.skip("slurmctld/slurmd/munged not installed (apt-get install slurm-wlm munge)")
    root = slurm_runs.root
    daemons = Daemons(root, root / "hpc-controller" / "etc", root / "hpc-controller" / "munge" / "munge.key",
                      ["compute-01", "compute-02"])
    try:
        daemons.start()
        yield daemons
    finally:
        daemons.stop()
