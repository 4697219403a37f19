"""The container checks of validate-hpc's lab profile (TASK-040, TASK-043), run as SLURM jobs.

    python -m workloads.container_check registry --dir DIR [--hold 300]
    python -m workloads.container_check run --dir DIR [--wait 120]
    python -m workloads.container_check probe

`probe` says whether this machine can do the checks at all (docker-registry, podman and busybox
installed, and podman runs a container of a throwaway image): exit 0, or 3 with the reason.

`registry` (TASK-040) starts a real OCI registry - Debian's `docker-registry` (distribution 2.8),
not its system service - on a free loopback port, with its own config file and storage under
DIR/registry; checks that its v2 API answers; builds an image without pulling anything (a rootfs
of busybox-static, `podman import`ed); pushes it (plain HTTP on loopback: --tls-verify=false);
deletes the local copy and pulls it back, checking the digest; then writes DIR/registry.json
(url, image, digest) and keeps the registry up until the `run` job is done (DIR/run.done), or
--hold seconds, or SIGTERM (scancel). It stops the registry before it exits.

`run` (TASK-043) waits for DIR/registry.json, pulls the image from the registry into a fresh
podman storage of its own, runs `podman run --rm IMAGE /bin/busybox echo TOKEN` and checks the
container printed TOKEN, then tells the registry job it may stop.

Podman runs rootful with a private storage (vfs: no overlay mounts left behind) under DIR, no
network (the container needs none), cgroupfs. Two settings this sandbox needs, measured here:
crun refuses hybrid cgroup v1/v2 hosts, so runc is used when installed; and the OCI runtime may
not raise RLIMIT_NOFILE/NPROC to podman's defaults, so the container gets explicit lower limits.
Exit status: 0 checked; 1 a check failed (the output says which and why); 2 bad input; 3 (probe)
this machine cannot run the checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

IMAGE_REPO = "cockpit/validation-busybox"
REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


class CheckFailed(Exception):
    """A check did not hold; the message says which and why."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workloads.container_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    reg = sub.add_parser("registry", help="TASK-040: registry up, image built, pushed and pulled back")
    reg.add_argument("--dir", type=Path, required=True, help="working directory shared with the run job")
    reg.add_argument("--hold", type=float, default=300.0, help="keep the registry up at most this long (s)")
    run = sub.add_parser("run", help="TASK-043: pull the pushed image and run a container of it")
    run.add_argument("--dir", type=Path, required=True, help="the registry job's --dir")
    run.add_argument("--wait", type=float, default=120.0, help="wait this long for the registry job (s)")
    sub.add_parser("probe", help="can this machine run the checks? exit 0, or 3 with the reason")
    return p


def log(msg: str) -> None:
    print(f"container_check: {msg}", flush=True)


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def runroot(storage: Path) -> Path:
    """Podman's run state for `storage`: a short path (podman refuses a runroot over 50 characters)."""
    return Path("/tmp") / f"cockpit-ctr-{hashlib.sha1(str(storage).encode()).hexdigest()[:10]}"


def drop_storage(storage: Path) -> None:
    shutil.rmtree(storage, ignore_errors=True)
    shutil.rmtree(runroot(storage), ignore_errors=True)


def podman(storage: Path, *args: str, timeout: float = 120.0) -> str:
    """Run podman on a private storage under `storage`; its stdout, or CheckFailed with its stderr."""
    cmd = ["podman", "--root", str(storage / "root"), "--runroot", str(runroot(storage)),
           "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
           "--tmpdir", str(storage / "tmp"), *args]
    (storage / "tmp").mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise CheckFailed("podman is not installed (Debian: podman)") from None
    if proc.returncode != 0:
        raise CheckFailed(f"`podman {' '.join(args)}` exited {proc.returncode}: {proc.stderr.strip()[-600:]}")
    return proc.stdout


def build_rootfs(tar_path: Path) -> None:
    """A rootfs tarball holding only busybox-static as /bin/busybox (nothing pulled)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise CheckFailed("busybox is not installed (Debian: busybox-static)")
    with tarfile.open(tar_path, "w") as tar:
        tar.add(os.path.realpath(busybox), arcname="bin/busybox")


def start_registry(work: Path) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("docker-registry")
    if exe is None:
        raise CheckFailed("docker-registry is not installed (Debian: docker-registry)")
    port = free_loopback_port()
    (work / "storage").mkdir(parents=True, exist_ok=True)
    config = work / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(storage=work / "storage", port=port))
    with open(work / "registry.log", "ab") as logf:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([exe, "serve", str(config)], stdout=logf, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v2/", timeout=2) as resp:
                log(f"registry answers: GET {url}/v2/ -> {resp.status} (docker-registry pid {proc.pid})")
                return proc, url
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                tail = (work / "registry.log").read_text(errors="replace")[-600:]
                raise CheckFailed(f"docker-registry did not answer on {url}/v2/ ({exc}); its log: {tail}") from exc
            time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_container(storage: Path, image: str, *command: str) -> str:
    """`podman run --rm` with the settings this sandbox needs (see the module doc); its stdout."""
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return podman(storage, "run", "--rm", *runtime, "--network", "none", "--ulimit", "nofile=1024:1024",
                  "--ulimit", "nproc=1024:1024", image, *command)


def why_not() -> str | None:
    """Why this machine cannot do the container checks (a tool missing, or podman cannot run a
    container here, tried for real on a throwaway image), or None when it can."""
    import tempfile

    missing = [tool for tool in ("podman", "docker-registry", "busybox") if shutil.which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)}"
    with tempfile.TemporaryDirectory(prefix="container-check-probe-") as tmp:
        storage = Path(tmp)
        try:
            build_rootfs(storage / "rootfs.tar")
            podman(storage, "import", str(storage / "rootfs.tar"), "localhost/cockpit-probe:latest")
            run_container(storage, "localhost/cockpit-probe:latest", "/bin/busybox", "true")
        except (CheckFailed, subprocess.TimeoutExpired, OSError) as exc:
            return f"podman cannot run a container here: {exc}"
        finally:
            shutil.rmtree(runroot(storage), ignore_errors=True)
    return None


def digest_of(storage: Path, image: str) -> str:
    return podman(storage, "image", "inspect", "--format", "{{.Digest}}", image).strip()


def registry_job(work: Path, hold: float) -> None:
    work.mkdir(parents=True, exist_ok=True)
    for name in ("registry.json", "registry.failed", "run.done"):
        (work / name).unlink(missing_ok=True)
    try:
        serve_and_publish(work, hold)
    except BaseException as exc:  # tell the run job at once instead of letting it wait
        (work / "registry.failed").write_text(str(exc) or type(exc).__name__)
        raise


def serve_and_publish(work: Path, hold: float) -> None:
    proc, url = start_registry(work / "registry")
    stopping = False

    def _term(signum, frame):  # scancel: stop the registry on the way out
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, _term)
    try:
        storage = work / "podman-build"
        rootfs = work / "rootfs.tar"
        build_rootfs(rootfs)
        image = f"{url.removeprefix('http://')}/{IMAGE_REPO}:{uuid.uuid4().hex[:8]}"
        podman(storage, "import", str(rootfs), image)
        log(f"built {image} from a busybox-static rootfs ({rootfs.stat().st_size} bytes, podman import)")
        podman(storage, "push", "--tls-verify=false", image)
        with urllib.request.urlopen(f"{url}/v2/{IMAGE_REPO}/tags/list", timeout=5) as resp:
            tags = json.load(resp).get("tags") or []
        tag = image.rsplit(":", 1)[1]
        if tag not in tags:
            raise CheckFailed(f"pushed {image} but the registry lists tags {tags}")
        podman(storage, "rmi", image)
        podman(storage, "pull", "--tls-verify=false", image)
        digest = digest_of(storage, image)
        log(f"pushed and pulled back {image}: digest {digest}, registry tags {tags}")
        (work / "registry.json").write_text(json.dumps({"url": url, "image": image, "digest": digest}))
        deadline = time.monotonic() + hold
        while not stopping and not (work / "run.done").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        log("run job done" if (work / "run.done").exists() else "stopping: SIGTERM" if stopping else
            f"stopping: held {hold:.0f}s without a run job")
    finally:
        stop(proc)
        drop_storage(work / "podman-build")
        log("registry stopped")


def run_job(work: Path, wait: float) -> None:
    info_path = work / "registry.json"
    deadline = time.monotonic() + wait
    while not info_path.exists():
        if (work / "registry.failed").exists():
            raise CheckFailed(f"the registry job failed: {(work / 'registry.failed').read_text()}")
        if time.monotonic() > deadline:
            raise CheckFailed(f"no {info_path} after {wait:.0f}s: the registry job did not publish an image")
        time.sleep(0.2)
    info = json.loads(info_path.read_text())
    image = info["image"]
    storage = work / f"podman-run-{os.environ.get('SLURM_JOB_ID', os.getpid())}"
    try:
        podman(storage, "pull", "--tls-verify=false", image)
        digest = digest_of(storage, image)
        if digest != info["digest"]:
            raise CheckFailed(f"pulled {image} with digest {digest}, the registry job pushed {info['digest']}")
        token = f"container-ok-{uuid.uuid4().hex[:8]}"
        out = run_container(storage, image, "/bin/busybox", "echo", token)
        if out.strip() != token:
            raise CheckFailed(f"the container printed {out.strip()!r}, expected {token!r}")
        log(f"podman run {image} printed {token} (pulled from {info['url']}, digest {digest})")
    finally:
        (work / "run.done").touch()
        drop_storage(storage)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd == "probe":
        reason = why_not()
        if reason:
            print(f"container_check: cannot run the container checks here: {reason}", file=sys.stderr)
            return 3
        log("docker-registry, podman and busybox are installed and podman runs a container here")
        return 0
    if not args.dir.is_absolute():
        print(f"container_check: error: --dir {args.dir}: give an absolute path", file=sys.stderr)
        return 2
    try:
        if args.cmd == "registry":
            registry_job(args.dir, args.hold)
        else:
            run_job(args.dir, args.wait)
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        print(f"container_check: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
