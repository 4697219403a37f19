"""Snapshot items of the `slurm` source: jobs (the items), nodes, partitions and sacct history
(sections). Field names are the documented JSON contract: keep them stable."""

from __future__ import annotations

from datetime import datetime

from cockpit.items import Item

# Job states that end a job; anything else is still in the queue.
FINISHED_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
                             "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED"})


class Job(Item):
    job_id: int
    display_id: str  # what squeue prints: 42, 41_3 (array task), 41_[4-9%2] (pending array rest)
    name: str
    user: str | None = None
    account: str | None = None
    partition: str | None = None
    qos: str | None = None
    state: str  # base state, upper case: PENDING, RUNNING, COMPLETED, ...
    state_flags: tuple[str, ...] = ()  # further flags newer Slurm lists beside the base state
    reason: str | None = None  # why pending / why it ended; None when Slurm says "None"
    nodes: str | None = None  # node list expression: node[1-2]
    node_count: int | None = None
    cpus: int | None = None
    gpus: int = 0  # GPUs allocated (running/finished) or requested (pending), whole job
    gpu_indices: dict[str, str] = {}  # node -> GPU indices allocated there ("0-1"), from gres_detail
    gres: str | None = None  # GRES/TRES request as Slurm spells it, per node, job, task or socket:
    #                          gres:gpu:a100:2, gres/gpu:2, gres/gpu=2
    submit_time: datetime | None = None
    start_time: datetime | None = None  # actual start; None while pending
    end_time: datetime | None = None  # actual end; None until finished
    time_used_s: int | None = None
    time_limit_s: int | None = None  # None: unlimited
    priority: int | None = None
    # pending and competing: its place among its partition's pending jobs by priority, 1 = first
    # (set by the source with cockpit.slurm_priority; None for running, finished and held jobs)
    priority_rank: int | None = None
    priority_rank_of: int | None = None
    array_job_id: int | None = None
    array_task_id: int | None = None
    array_tasks: str | None = None  # pending tasks of an array: "2-3%2"
    exit_code: str | None = None  # "return_code:signal", as sacct/scontrol print it: 0:15 when killed by SIGTERM
    derived_exit_code: str | None = None  # highest exit code of the job's steps, same spelling
    work_dir: str | None = None
    stdout: str | None = None  # resolved output paths (Slurm's default slurm-%j.out when unset)
    stderr: str | None = None
    batch_host: str | None = None

    def key(self) -> str:
        return str(self.job_id)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class Node(Item):
    name: str
    state: str  # base state, upper case: IDLE, MIXED, ALLOCATED, DOWN, ...
    state_flags: tuple[str, ...] = ()  # DRAIN, NOT_RESPONDING, RESERVED, ...
    state_label: str  # what sinfo prints: idle, mixed, drained, draining, down*, ...
    partitions: tuple[str, ...] = ()
    cpus: int | None = None
    cpus_alloc: int | None = None
    memory_mb: int | None = None
    memory_alloc_mb: int | None = None
    gpus: int = 0
    gpus_used: int = 0
    gres: str | None = None
    gres_used: str | None = None
    reason: str | None = None  # drain/down reason
    reason_set_by: str | None = None
    address: str | None = None
    version: str | None = None

    def key(self) -> str:
        return self.name

    @property
    def drained(self) -> bool:
        return "DRAIN" in self.state_flags


class Partition(Item):
    name: str
    state: str  # UP, DOWN, DRAIN, INACTIVE
    default: bool = False
    nodes: str | None = None
    node_count: int | None = None
    cpus: int | None = None
    max_time_s: int | None = None  # None: unlimited
    gpus: int = 0  # summed from the partition's nodes
    gpus_used: int = 0
    node_states: dict[str, int] = {}  # state_label -> count

    def key(self) -> str:
        return self.name


class JobStep(Item):
    """One step of an accounted job, as sacct lists it under the job: 42.batch, 42.extern, 42.0."""

    step_id: str  # "42.batch", "42.extern", "42.0", "42.interactive"
    name: str | None = None
    state: str | None = None
    exit_code: str | None = None  # "return_code:signal"
    nodes: str | None = None
    tasks: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    elapsed_s: int | None = None
    cpus: int | None = None  # CPUs allocated to the step (its tres.allocated cpu)
    cpu_time_s: float | None = None  # TotalCPU: user + system time of all its tasks (time.total)
    # Usage the accounting gatherer measured (sacct's TRESUsageIn*: JSON tres.requested.max/total),
    # keyed "cpu", "mem" (bytes), "gres/gpumem" (bytes), "gres/gpuutil" (percent): the largest task's
    # peak, and the sum of every task's peak. Empty when nothing was gathered (yet).
    usage_max: dict[str, int] = {}
    usage_total: dict[str, int] = {}

    def key(self) -> str:
        return self.step_id


class HistoryJob(Item):
    """One job from accounting (sacct / slurmdbd)."""

    job_id: int
    display_id: str
    name: str
    user: str | None = None
    account: str | None = None
    partition: str | None = None
    state: str
    exit_code: str | None = None  # "return_code:signal", as sacct prints ExitCode
    derived_exit_code: str | None = None  # sacct's DerivedExitCode
    nodes: str | None = None
    gpus: int = 0
    node_count: int | None = None  # nodes allocated (tres.allocated node)
    cpus: int | None = None  # CPUs allocated (tres.allocated cpu); None while pending
    memory_mb: int | None = None  # memory allocated (tres.allocated mem), MB; None when not tracked
    memory_requested_mb: int | None = None  # memory requested (tres.requested mem), MB
    cpu_time_s: float | None = None  # TotalCPU of the whole job as accounting sums it (time.total)
    steps: tuple[JobStep, ...] = ()  # batch, extern, interactive and numbered steps, in Slurm's order
    submit_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    elapsed_s: int | None = None

    def key(self) -> str:
        return str(self.job_id)
