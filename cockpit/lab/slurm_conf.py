"""The lab's Slurm config files: slurm.conf, gres.conf, slurmdbd.conf (pure text, no I/O).

Fake GPUs are GRES backed by character devices (major 195, the NVIDIA major): slurmd only
checks that the files exist, so the scheduler counts and binds GPUs as on a real node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ports:
    base: int

    @property
    def db(self) -> int:  # MariaDB
        return self.base + 6

    @property
    def slurmctld(self) -> int:
        return self.base + 17

    @property
    def slurmdbd(self) -> int:
        return self.base + 19

    @property
    def slurmrestd(self) -> int:
        return self.base + 20

    @property
    def sshd(self) -> int:  # chroot labs: the CLI over SSH
        return self.base + 22

    @property
    def slurmd_first(self) -> int:
        return self.base + 100

    def all(self, nodes: int) -> list[int]:
        return [self.db, self.slurmctld, self.slurmdbd, self.slurmrestd, self.sshd,
                *range(self.slurmd_first, self.slurmd_first + nodes)]


@dataclass(frozen=True)
class LabLayout:
    """Where every file of one lab lives, all under one directory. `jail`: the chroot its
    daemons and commands run in (None: the host), with `root` at the same path inside."""

    root: Path
    jail: Path | None = None

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def conf(self) -> Path:
        return self.etc / "slurm.conf"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def munge(self) -> Path:
        return self.root / "munge"

    @property
    def munge_socket(self) -> Path:
        return self.munge / "munge.socket"

    @property
    def dev(self) -> Path:
        return self.root / "dev"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def mysql(self) -> Path:
        return self.root / "mysql"

    @property
    def jwt_key(self) -> Path:
        return self.etc / "jwt_hs256.key"

    @property
    def jwt_token(self) -> Path:
        return self.etc / "slurmrestd.jwt"

    @property
    def ssh(self) -> Path:  # sshd config, host and client keys (chroot labs)
        return self.root / "ssh"

    @property
    def state_file(self) -> Path:
        return self.root / "lab.json"


def slurm_conf(layout: LabLayout, ports: Ports, nodes: int, gpus: int, accounting: bool,
               cluster: str = "lab", partition: str = "debug") -> str:
    lab = layout.root
    if accounting:
        acct = (f"AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\n"
                f"AccountingStoragePort={ports.slurmdbd}\nAccountingStoragePass={layout.munge_socket}\n"
                f"AccountingStorageTRES=gres/gpu\n")
    else:
        acct = "AccountingStorageType=accounting_storage/none\n"
    gres = f"Gres=gpu:a100:{gpus} " if gpus else ""
    return f"""# Written by `cockpit lab up`: a throw-away Slurm cluster on loopback.
ClusterName={cluster}
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={layout.munge_socket}
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key={layout.jwt_key}
SlurmctldPort={ports.slurmctld}
StateSaveLocation={lab}/state
SlurmdSpoolDir={lab}/spool/%n
SlurmctldPidFile={layout.pids}/slurmctld.pid
SlurmdPidFile={layout.pids}/slurmd-%n.pid
SlurmctldLogFile={layout.log}/slurmctld.log
SlurmdLogFile={layout.log}/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
{acct}JobCompType=jobcomp/filetxt
JobCompLoc={layout.log}/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=2
GresTypes=gpu
NodeName=node[1-{nodes}] NodeHostname=localhost NodeAddr=127.0.0.1 Port={ports.slurmd_first}-{ports.slurmd_first + nodes - 1} CPUs=2 RealMemory=4000 {gres}State=UNKNOWN
PartitionName={partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def gres_conf(layout: LabLayout, nodes: int, gpus: int) -> str:
    lines = ["AutoDetect=off"]
    if gpus:
        files = f"{layout.dev}/nvidia[0-{gpus - 1}]" if gpus > 1 else f"{layout.dev}/nvidia0"
        lines.append(f"NodeName=node[1-{nodes}] Name=gpu Type=a100 File={files}")
    return "\n".join(lines) + "\n"


def slurmdbd_conf(layout: LabLayout, ports: Ports, db_password: str) -> str:
    return f"""AuthType=auth/munge
AuthInfo=socket={layout.munge_socket}
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key={layout.jwt_key}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={ports.slurmdbd}
SlurmUser=root
LogFile={layout.log}/slurmdbd.log
PidFile={layout.pids}/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports.db}
StorageUser=slurm
StoragePass={db_password}
StorageLoc=slurm_acct_db
"""
