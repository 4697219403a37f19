"""Record what a real Slurm lab prints, for the parser tests (tests/fixtures/slurm/recorded/).

Starts a fresh lab of the given release, puts a known job mix on it (a running GPU job, one
pending on Resources, an array, a failed job, a completed one, a held one, one cancelled while
running, a per-task GPU job, a drained node), then saves the `--json` output of squeue, sinfo,
scontrol and sacct (in every data_parser version the release ships) and slurmrestd's replies
(every openapi version it serves), with a README saying what was recorded, how and when.
The lab is stopped afterwards whatever happens.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from backends.slurm.transport import REST_VERSIONS
from cockpit.lab.slurm_conf import LabLayout
from cockpit.lab.slurm_lab import HOST_RELEASE, LabError, LabInfo, LabSpec, _run, down, up

Progress = Callable[[str], None]

# (name, sbatch arguments): submitted in this order (see _job_mix for the waits in between).
QUICK_JOBS = (("completes", ["--wrap", "echo done"]),
              ("fails", ["--wrap", "echo failing; exit 3"]))
LONG = "sleep 900"


def _layout(info: LabInfo) -> LabLayout:
    return LabLayout(Path(info.root), Path(info.chroot) if info.chroot else None)


def _sbatch(layout: LabLayout, name: str, args: list[str]) -> int:
    done = _run(["sbatch", "--parsable", f"--job-name={name}", f"--chdir={layout.out}", "--output=%x-%j.out",
                 *args], layout)
    return int(done.stdout.strip().split(";")[0].split("_")[0])


def _state(layout: LabLayout, job_id: int | str) -> tuple[str, str]:
    done = _run(["squeue", "-h", "-t", "all", "-j", str(job_id), "-o", "%T %r"], layout, check=False)
    first = (done.stdout.strip().splitlines() or [""])[0].split(maxsplit=1)
    return (first[0], first[1] if len(first) > 1 else "") if first and first[0] else ("", "")


def _wait_state(layout: LabLayout, job_id: int, want: Callable[[str, str], bool], what: str,
                timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ("", "")
    while time.monotonic() < deadline:
        last = _state(layout, job_id)
        if want(*last):
            return
        time.sleep(0.5)
    raise LabError(f"job {job_id} ({what}) never got there; last state {last}")


def _job_mix(layout: LabLayout, progress: Progress) -> dict[str, int]:
    """Submit the job mix and wait until every job is where the README says it is."""
    jobs: dict[str, int] = {}
    progress("job mix: drain node4, run the short jobs")
    _run(["scontrol", "update", "NodeName=node4", "State=DRAIN", "Reason=recorded drain"], layout)
    for name, args in QUICK_JOBS:
        jobs[name] = _sbatch(layout, name, args)
    for name in ("completes", "fails"):
        _wait_state(layout, jobs[name], lambda s, r: s in ("COMPLETED", "FAILED"), name)
    jobs["cancelled"] = _sbatch(layout, "cancelled", ["--wrap", f"echo started; {LONG}"])
    _wait_state(layout, jobs["cancelled"], lambda s, r: s == "RUNNING", "cancelled: running first")
    # RUNNING comes before the batch script starts: cancel once it runs, so the signal shows.
    out = layout.out / f"cancelled-{jobs['cancelled']}.out"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out.exists() and "started" in out.read_text()):
        time.sleep(0.2)
    _run(["scancel", str(jobs["cancelled"])], layout)
    _wait_state(layout, jobs["cancelled"], lambda s, r: s == "CANCELLED", "cancelled")
    progress("job mix: GPU jobs, an array, a held job")
    jobs["gpu-train"] = _sbatch(layout, "gpu-train", ["-N2", "--gres=gpu:a100:2", "--time=30", "--wrap", LONG])
    _wait_state(layout, jobs["gpu-train"], lambda s, r: s == "RUNNING", "gpu-train running")
    jobs["per-task-gpu"] = _sbatch(layout, "per-task-gpu", ["-n2", "--gpus-per-task=1", "--ntasks-per-node=2",
                                                             "--wrap", LONG])
    _wait_state(layout, jobs["per-task-gpu"], lambda s, r: s == "RUNNING", "per-task-gpu running")
    jobs["sweep"] = _sbatch(layout, "sweep", ["--array=0-3%2", "--wrap", LONG])
    jobs["gpu-wait"] = _sbatch(layout, "gpu-wait", ["-N3", "--gres=gpu:2", "--wrap", LONG])
    jobs["held"] = _sbatch(layout, "held", ["--hold", "--wrap", LONG])
    _wait_state(layout, jobs["gpu-wait"], lambda s, r: s == "PENDING" and r == "Resources", "gpu-wait on Resources")
    _wait_state(layout, jobs["held"], lambda s, r: s == "PENDING" and "Held" in r, "held")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # two array tasks run, the rest wait on the array's limit
        running = _run(["squeue", "-h", "-r", "-j", str(jobs["sweep"]), "-t", "R", "-o", "%i"], layout).stdout.split()
        if len(running) == 2:
            break
        time.sleep(0.5)
    else:
        raise LabError(f"array {jobs['sweep']}: not two tasks running")
    time.sleep(3)  # one more scheduler pass, so reasons and planned nodes settle
    return jobs


def _cli_versions(layout: LabLayout, release: str) -> list[str]:
    """data_parser versions the release's CLI can write (22.05: only its built-in v0.0.38)."""
    if release == HOST_RELEASE:
        return []
    plugin_dir = Path(str(layout.jail) + "/usr/lib/x86_64-linux-gnu/slurm-wlm")
    return sorted(p.name[len("data_parser_"):-3].replace("_", ".") for p in plugin_dir.glob("data_parser_v*.so"))


def _save(out: Path, name: str, text: str) -> str:
    path = out / name
    if name.endswith(".json"):
        text = json.dumps(json.loads(text), indent=2) + "\n"  # stable, reviewable layout; content unchanged
    path.write_text(text)
    return name


def _record_cli(layout: LabLayout, info: LabInfo, out: Path, progress: Progress) -> list[tuple[str, str]]:
    """Every CLI reading, in the default data_parser and in each one the release ships."""
    made: list[tuple[str, str]] = []
    commands: list[tuple[str, list[str]]] = [("squeue", ["squeue", "--json"]),
                                             ("squeue_all", ["squeue", "--json", "--states=all"]),
                                             ("sinfo", ["sinfo", "--json"])]
    if info.release != HOST_RELEASE:
        commands += [("scontrol_show_nodes", ["scontrol", "show", "nodes", "--json"]),
                     ("scontrol_show_partitions", ["scontrol", "show", "partitions", "--json"]),
                     ("scontrol_show_jobs", ["scontrol", "show", "jobs", "--json"])]
    if info.accounting:
        commands.append(("sacct", ["sacct", "--json", "--allusers", "-S", "now-1hours"]))
    versions = _cli_versions(layout, info.release)
    for stem, argv in commands:
        progress(f"recording {' '.join(argv)}")
        made.append((_save(out, f"{stem}.json", _run(argv, layout).stdout), " ".join(argv)))
        for version in versions:
            flag = argv.index("--json")
            versioned = [*argv[:flag], f"--json={version}", *argv[flag + 1:]]
            done = _run(versioned, layout, check=False)
            if done.returncode == 0 and done.stdout.strip().startswith("{"):
                made.append((_save(out, f"{stem}.{version}.json", done.stdout), " ".join(versioned)))
    if info.release == HOST_RELEASE:
        argv = ["scontrol", "-o", "show", "partitions"]
        made.append((_save(out, "scontrol_show_partitions_o.txt", _run(argv, layout).stdout), " ".join(argv)))
    return made


def _get(info: LabInfo, path: str) -> tuple[int, str]:
    token = Path(info.jwt_file).read_text().strip() if info.jwt_file else ""
    if not info.rest_url:
        raise LabError("this lab runs no slurmrestd: nothing to record over REST")
    request = urllib.request.Request(info.rest_url + path, headers={
        "X-SLURM-USER-NAME": info.rest_user or "", "X-SLURM-USER-TOKEN": token, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _record_rest(info: LabInfo, out: Path, progress: Progress) -> list[tuple[str, str]]:
    made: list[tuple[str, str]] = []
    if not info.rest_url:
        return made
    for version in REST_VERSIONS:
        status, _ = _get(info, f"/slurm/{version}/ping")
        if status != 200:
            continue
        paths = [("slurm", "jobs"), ("slurm", "nodes"), ("slurm", "partitions")]
        if info.accounting:
            paths.append(("slurmdb", "jobs"))
        for kind, what in paths:
            path = f"/{kind}/{version}/{what}"
            progress(f"recording GET {path}")
            status, body = _get(info, path)
            if status != 200:
                raise LabError(f"slurmrestd answered HTTP {status} to GET {path}: {body[:120]}")
            made.append((_save(out, f"rest_{kind}_{version}_{what}.json", body), f"GET {path}"))
    return made


def _readme(info: LabInfo, jobs: dict[str, int], files: list[tuple[str, str]], plugins: list[str]) -> str:
    rows = "\n".join(f"| `{name}` | `{how}` |" for name, how in files)
    mix = ", ".join(f"{name} = {job_id}" for name, job_id in jobs.items())
    where = f"a Debian chroot (cockpit/lab/chroot.py), suite `{_suite(info.release)}`" if info.chroot \
        else "the host (Debian 12 bookworm packages)"
    return f"""# Slurm {info.slurm_version} as it really prints (recorded)

Recorded by `cockpit lab record --release {info.release}` (cockpit/lab/record.py) on
{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, from a real lab: slurmctld + {info.nodes} slurmd
with {info.gpus} fake `a100` GPUs each (typed GRES), {'slurmdbd + MariaDB, ' if info.accounting else ''}slurmrestd
with JWT, running in {where}. Nothing in these files was edited; JSON was only re-indented.

- Slurm release: **{info.slurm_version}**
- data_parser plugins shipped: {', '.join(plugins) or 'none (22.05 writes its built-in v0.0.38)'};
  files without a version in their name use the CLI's default (the newest). The `meta` of each
  file names the plugin that wrote it.
- slurmrestd openapi versions served: see the `rest_*` file names.
- accounting (sacct, slurmdb): {'yes' if info.accounting else 'no'}
- `squeue.json` is what the cockpit's CLI transport reads (`squeue --json`, the default state
  filter); `squeue_all.json` adds `--states=all`, so finished jobs (failed, cancelled) show too.

## The job mix at recording time

Job ids: {mix}. In order: node4 drained (`Reason=recorded drain`); `completes` (COMPLETED) and
`fails` (`exit 3`: FAILED, exit code 3); `cancelled` (started, then `scancel` while RUNNING:
CANCELLED by a signal); `gpu-train` (`-N2 --gres=gpu:a100:2`, RUNNING); `per-task-gpu`
(`-n2 --gpus-per-task=1 --ntasks-per-node=2`, RUNNING); `sweep` (`--array=0-3%2`: two tasks RUNNING,
the rest PENDING on the array's task limit); `gpu-wait` (`-N3 --gres=gpu:2`, PENDING on Resources);
`held` (`--hold`, PENDING, held by the user).

## Files

| file | command |
|---|---|
{rows}
"""


def _suite(release: str) -> str:
    from cockpit.lab.chroot import SUITES

    return SUITES.get(release, "bookworm")


def record(release: str, out: Path, *, base: int | None = None, progress: Progress = lambda m: None) -> list[Path]:
    """Start a lab of `release`, record into `out` (replaced), stop the lab. Returns the files."""
    root = Path(tempfile.mkdtemp(prefix=f"cockpit-slurm-record-{release}-", dir="/tmp"))
    config = root / "cockpit-lab.yaml"
    spec = LabSpec(root=root, nodes=4, gpus=2, base=base, release=release, rest=True,
                   accounting=None, config_path=config)
    info = up(spec, progress=progress)
    try:
        layout = _layout(info)
        jobs = _job_mix(layout, progress)
        staging = Path(tempfile.mkdtemp(prefix=".recording-", dir=out.parent if out.parent.exists() else None))
        files = _record_cli(layout, info, staging, progress) + _record_rest(info, staging, progress)
        (staging / "README.md").write_text(_readme(info, jobs, files, _cli_versions(layout, release)))
    finally:
        down(root, config_path=config)
        shutil.rmtree(root, ignore_errors=True)  # safe: the chroot's mounts live outside it, and are gone
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        for old in out.iterdir():
            old.unlink()
        out.rmdir()
    staging.rename(out)
    return sorted(out.iterdir())
