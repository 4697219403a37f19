"""SLURM actions: submit from a workload template, cancel, hold, release, requeue, drain, resume,
and the read-only helpers the screens use (render a script, job detail)."""

from __future__ import annotations

import re
import shlex
from typing import Any, Mapping

import jinja2
from pydantic import BaseModel, Field, field_validator

from cockpit import paths
from cockpit.actions import ActionContext, ActionError, ActionRefused, ActionRegistry, Danger

TEMPLATES_DIR = paths.WORKLOADS_DIR / "slurm"
TEMPLATE_SUFFIX = ".sbatch.j2"
# Names that end up in #SBATCH lines: no spaces, no newlines, nothing a shell would act on.
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def template_names() -> list[str]:
    return sorted(p.name[: -len(TEMPLATE_SUFFIX)] for p in TEMPLATES_DIR.glob(f"*{TEMPLATE_SUFFIX}"))


def _duration_s(value: str) -> int | None:
    from backends.slurm.parse import duration_s

    return duration_s(value)


class SubmitParams(BaseModel):
    template: str = Field(default="gpu-job", description="workloads/slurm/<template>.sbatch.j2")
    name: str = Field(default="cockpit-job", pattern=SAFE_NAME, description="job name")
    partition: str | None = Field(default=None, pattern=SAFE_NAME, description="partition; omit for the default")
    nodes: int = Field(default=1, ge=1, le=1024)
    gpus_per_node: int = Field(default=1, ge=0, le=64)
    cpus_per_task: int = Field(default=1, ge=1, le=1024)
    time: str = Field(default="00:10:00", description="time limit: MM, HH:MM:SS or D-HH:MM:SS")
    image: str | None = Field(default=None, description="Apptainer image (.sif or docker://...) to run in")
    command: str = Field(default="nvidia-smi -L || echo 'no nvidia-smi'", description="shell command of the job")
    workdir: str | None = Field(default=None, description="working directory (default: the submit directory)")
    output: str | None = Field(default=None, description="stdout file pattern, e.g. %x-%j.out")
    env: dict[str, str] = Field(default_factory=dict, description="variables the batch script exports before the "
                                "command (MLFLOW_TRACKING_URI, COCKPIT_PLAN, COCKPIT_PLAN_STEP, PYTHONPATH, ...)")
    token: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,100}$",
                              description="idempotency token, kept as the job's comment (cockpit:TOKEN): when a job "
                                          "with it exists already, that job is reused instead of submitting again")

    @field_validator("template")
    @classmethod
    def _known_template(cls, v: str) -> str:
        if v not in template_names():
            raise ValueError(f"unknown template {v!r} (known: {', '.join(template_names()) or 'none'})")
        return v

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        try:
            seconds = _duration_s(v)
        except ValueError:
            seconds = -1
        if seconds is None or seconds <= 0:
            raise ValueError(f"{v!r} is not a time limit such as 30, 00:10:00 or 1-00:00:00")
        return v

    @field_validator("image", "workdir", "output")
    @classmethod
    def _one_line(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or any(c in v for c in "\n\r\0")):
            raise ValueError("must be one non-empty line")
        return v

    @field_validator("env", mode="before")
    @classmethod
    def _env_values_as_text(cls, v: Any) -> Any:
        # Plan variables arrive as numbers or booleans as often as text.
        if isinstance(v, dict):
            return {k: (str(x).lower() if isinstance(x, bool) else str(x)) if isinstance(x, (int, float, bool)) else x
                    for k, x in v.items()}
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if any(c in value for c in "\n\r\0"):
                raise ValueError(f"{name}: the value must be one line")
        return v

    @field_validator("command")
    @classmethod
    def _command(cls, v: str) -> str:
        if not v.strip() or "\0" in v:
            raise ValueError("must be a non-empty shell command")
        return v


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["shquote"] = shlex.quote
    return env


def render_script(p: SubmitParams) -> str:
    """The exact batch script that slurm.submit sends."""
    return _environment().get_template(p.template + TEMPLATE_SUFFIX).render(**p.model_dump())


def job_spec(p: SubmitParams) -> dict[str, Any]:
    """The job's properties for transports that ignore #SBATCH lines (slurmrestd)."""
    seconds = _duration_s(p.time) or 0
    return {"name": p.name, "partition": p.partition, "nodes": p.nodes, "gpus_per_node": p.gpus_per_node,
            "cpus_per_task": p.cpus_per_task, "time_limit_min": max(1, -(-seconds // 60)),
            "workdir": p.workdir, "output": p.output, "comment": token_comment(p.token)}


def token_comment(token: str | None) -> str | None:
    return f"cockpit:{token}" if token else None


def confirm_submit(p: SubmitParams) -> str:
    where = f"partition {p.partition}" if p.partition else "the default partition"
    gpus = f"{p.gpus_per_node} GPU(s) per node" if p.gpus_per_node else "no GPUs"
    image = f", inside Apptainer image {p.image}" if p.image else ""
    return (f"Submit SLURM job '{p.name}' to {where}: {p.nodes} node(s), {gpus}, time limit {p.time}{image}. "
            f"Batch script ({p.template}):\n{render_script(p)}")


class JobRef(BaseModel):
    job_id: int = Field(ge=1, description="SLURM job id (for an array task, its own job id)")


class NodeRef(BaseModel):
    node: str = Field(pattern=r"^[A-Za-z0-9._\-\[\],]{1,200}$", description="node name or host list, e.g. node[1-2]")


class DrainParams(NodeRef):
    reason: str = Field(default="drained from the cockpit", min_length=1, max_length=200,
                        pattern=r"^[^\n\r\x00]+$", description="why (shown by sinfo -R)")


async def submit(ctx: ActionContext, p: SubmitParams) -> dict[str, Any]:
    """Submit a batch job from a workload template"""
    script = render_script(p)
    adapter = ctx.adapter("slurm")
    if p.token and hasattr(adapter, "jobs_with_comment"):
        # A submit interrupted after sbatch ran (kill -9, lost connection) left its job behind:
        # find it by its token rather than create a duplicate.
        existing = await adapter.jobs_with_comment(token_comment(p.token))
        if existing:
            ctx.progress(f"job {existing[0]} already carries token {p.token}: not submitting again")
            return {"job_id": existing[0], "name": p.name, "template": p.template, "token": p.token, "reused": True}
    ctx.progress(f"submitting {p.name}")
    job_id = await adapter.submit(script, job_spec(p))
    return {"job_id": job_id, "name": p.name, "template": p.template, "token": p.token, "reused": False}


async def render(ctx: ActionContext, p: SubmitParams) -> dict[str, Any]:
    """Render a workload template (what slurm.submit would send)"""
    return {"script": render_script(p), "job": job_spec(p)}


def _control(op: str):  # noqa: ANN202 - builds the action functions below
    async def run(ctx: ActionContext, p: Any) -> dict[str, Any]:
        target = str(p.job_id) if isinstance(p, JobRef) else p.node
        adapter = ctx.adapter("slurm")
        if not hasattr(adapter, "control"):
            raise ActionError("slurm is not configured: set cockpit.slurm (or run `cockpit lab up`)")
        await adapter.control(op, target, getattr(p, "reason", None))
        return {"op": op, "target": target}

    run.__doc__ = f"{op} a SLURM job or node"
    return run


async def job_detail(ctx: ActionContext, p: JobRef) -> dict[str, Any]:
    """Every field of a job, its batch script and its nodes"""
    try:
        return await ctx.adapter("slurm").job_detail(p.job_id)
    except KeyError:
        raise ActionError("slurm is not configured") from None


def _field(fields: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = fields.get(name)
        if isinstance(value, Mapping):  # slurmrestd's {"set": true, "number": N}
            value = value.get("number") if value.get("set", True) else None
        if value not in (None, ""):
            return str(value)
    return "?"


async def job_target(ctx: ActionContext, p: JobRef) -> str:
    """Who the job id names now: its name, owner and submit time (not its state, which may move on
    between the confirmation and the action)."""
    adapter = ctx.adapter("slurm")
    if not hasattr(adapter, "job_detail"):
        raise ActionError("slurm is not configured: set cockpit.slurm (or run `cockpit lab up`)")
    try:
        detail = await adapter.job_detail(p.job_id)
    except Exception as exc:  # noqa: BLE001 - an id nobody can read is not acted on
        raise ActionRefused(f"SLURM job {p.job_id} cannot be read ({str(exc) or type(exc).__name__}); nothing was done") from None
    fields = detail.get("fields") or {}
    if not fields:
        raise ActionRefused(f"SLURM job {p.job_id} is not known to the controller; nothing was done")
    return (f"job {p.job_id} '{_field(fields, 'JobName', 'name')}' of {_field(fields, 'UserId', 'user_name')}, "
            f"submitted {_field(fields, 'SubmitTime', 'submit_time')}")


def register(registry: ActionRegistry) -> None:
    registry.action("slurm.submit", SubmitParams, Danger.CHANGE, title="Submit SLURM job",
                    confirm=confirm_submit, refresh=("slurm",))(submit)
    registry.action("slurm.render", SubmitParams, Danger.READ, title="Render SLURM batch script")(render)
    registry.action("slurm.job_detail", JobRef, Danger.READ, title="SLURM job detail")(job_detail)
    registry.action("slurm.cancel", JobRef, Danger.DESTROY, title="Cancel SLURM job", refresh=("slurm",), target=job_target,
                    confirm=lambda p: f"Cancel SLURM job {p.job_id} (scancel): a pending job leaves the queue, a "
                                      "running one is killed now and ends CANCELLED; its output stops there.")(_control("cancel"))
    registry.action("slurm.hold", JobRef, Danger.CHANGE, title="Hold SLURM job", refresh=("slurm",), target=job_target,
                    confirm=lambda p: f"Hold SLURM job {p.job_id} (scontrol hold): it stays pending with reason "
                                      "JobHeldUser/JobHeldAdmin until released; a running job is not affected.")(_control("hold"))
    registry.action("slurm.release", JobRef, Danger.CHANGE, title="Release SLURM job", refresh=("slurm",), target=job_target,
                    confirm=lambda p: f"Release SLURM job {p.job_id} (scontrol release): it may be scheduled "
                                      "again as soon as resources allow.")(_control("release"))
    registry.action("slurm.requeue", JobRef, Danger.DESTROY, title="Requeue SLURM job", refresh=("slurm",), target=job_target,
                    confirm=lambda p: f"Requeue SLURM job {p.job_id} (scontrol requeue): if it runs it is killed "
                                      "and goes back to PENDING to start over; work since its start is lost.")(_control("requeue"))
    registry.action("slurm.drain", DrainParams, Danger.CHANGE, title="Drain SLURM node", refresh=("slurm",),
                    confirm=lambda p: f"Drain SLURM node(s) {p.node} with reason '{p.reason}': running jobs finish, "
                                      "no new job starts there until resumed.")(_control("drain"))
    registry.action("slurm.resume", NodeRef, Danger.CHANGE, title="Resume SLURM node", refresh=("slurm",),
                    confirm=lambda p: f"Resume SLURM node(s) {p.node} (scontrol update State=RESUME): "
                                      "they take new jobs again.")(_control("resume"))

