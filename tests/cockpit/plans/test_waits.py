"""Wait and assert steps on hub snapshots: libvirt test-driver VMs, a scripted SLURM-shaped
source (the real SLURM adapter lands in another branch; the lead's end-to-end test covers it),
a real HTTP server, and a real MLflow store."""

from __future__ import annotations

import http.server
import threading
import time
from typing import Any

import pytest


async def test_vm_start_then_wait_running_then_cleanup_force_off(make_rt, run):
    rt = make_rt(vms=True)
    runner = await run("""
plan: vm
vars: {vm: cloud-gpu-worker-01}
steps:
  - id: off_first
    assert: {vm: {name: "${vm}", state: shutoff}}
  - {id: start, needs: off_first, action: vm.start, params: {name: "${vm}"}}
  - id: up
    needs: start
    wait: {vm: {name: "${vm}", state: running}, interval: 50ms}
    timeout: 10s
  - id: gpus
    needs: up
    assert:
      - snapshot: {source: vms, where: {name: "${vm}"}, field: gpus, contains: "0000:c1:00.0"}
      - snapshot: {source: vms, field: state, equals: running, min_count: 5}
  - {id: power_off, cleanup: true, needs: start, action: vm.force_off, params: {name: "${steps.start.vm}"}}
  - id: down
    cleanup: true
    needs: power_off
    wait: {vm: {name: "${vm}", state: shutoff}, interval: 50ms}
    timeout: 10s
""", runtime=rt)
    assert runner.verdict == "passed", {k: (v["status"], v["error"]) for k, v in runner.state.steps.items()}
    assert runner.state.steps["up"]["outputs"]["uuid"] == "3f0e6c1a-1b2c-4d5e-8f90-000000000022"
    actions = [r["action"] for r in rt.audit.records() if r["event"] == "action.end" and r["ok"]]
    assert actions == ["vm.start", "vm.force_off"]


async def test_wait_times_out_with_the_last_reason(make_rt, run):
    rt = make_rt(vms=True)
    started = time.monotonic()
    runner = await run("""
plan: vm-timeout
steps:
  - id: never
    wait: {vm: {name: hpc-controller, state: paused}, interval: 50ms}
    timeout: 400ms
""", runtime=rt)
    rec = runner.state.steps["never"]
    assert rec["status"] == "failed"
    assert rec["error"].startswith("timed out after 0.4 s: vms item name='hpc-controller': state is 'running'")
    assert time.monotonic() - started < 3


async def test_wait_on_unconfigured_source_fails_at_once_with_the_hint(demo_loaded, run):
    from cockpit.runtime import build_runtime

    rt = build_runtime(demo_loaded, sources=("slurm",))  # no SLURM configured in the demo
    started = time.monotonic()
    runner = await run("""
plan: unconf
steps:
  - {id: job, wait: {job: {id: 1}}, timeout: 60s}
""", runtime=rt)
    rec = runner.state.steps["job"]
    assert rec["status"] == "failed" and "slurm is not configured" in rec["error"]
    assert time.monotonic() - started < 5


async def test_job_wait_follows_states_and_exposes_the_item(make_rt, run, scripted):
    queue = scripted("slurm", [
        [{"job_id": 7, "name": "mnist", "state": "PENDING"}],
        [{"job_id": 7, "name": "mnist", "state": "RUNNING"}],
        [{"job_id": 7, "name": "mnist", "state": "COMPLETED", "exit_code": 0}],
    ])
    rt = make_rt(sources=[queue])
    runner = await run("""
plan: job
steps:
  - {id: submit, action: test.echo, params: {value: 7}}
  - {id: done, needs: submit, wait: {job: {id: "${steps.submit.value}"}, interval: 10ms}, timeout: 5s}
""", runtime=rt)
    assert runner.verdict == "passed"
    out = runner.state.steps["done"]["outputs"]
    assert out["state"] == "COMPLETED" and out["exit_code"] == 0 and queue.fetches >= 3
    progress = [e["message"] for e in _events(runner) if e["event"] == "step.progress"]
    assert any("'PENDING'" in m for m in progress) and any("'RUNNING'" in m for m in progress)


async def test_job_that_fails_ends_the_wait_at_once(make_rt, run, scripted):
    queue = scripted("slurm", [[{"job_id": 9, "state": "RUNNING"}], [{"job_id": 9, "state": "FAILED"}]])
    rt = make_rt(sources=[queue])
    started = time.monotonic()
    runner = await run("""
plan: job-fail
steps:
  - {id: done, wait: {job: {id: 9}, interval: 10ms}, timeout: 60s, retry: 3}
""", runtime=rt)
    rec = runner.state.steps["done"]
    assert rec["status"] == "failed" and "state is 'FAILED'" in rec["error"]
    assert len(rec["attempts"]) == 1, "a job that failed will not complete: no retry"
    assert time.monotonic() - started < 5


def _events(runner: Any) -> list[dict[str, Any]]:
    from cockpit.plans.state import EventLog

    return list(EventLog.read(runner.events_path))


@pytest.fixture
def http_server():
    """A real HTTP server: 503 until `ready` is set or `ready_after` requests came, then 200."""

    class State:
        ready = False
        ready_after = 0
        hits = 0

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            State.hits += 1
            if State.ready_after and State.hits >= State.ready_after:
                State.ready = True
            body = b'{"status": "alive", "model": "mnist"}' if State.ready else b"starting"
            self.send_response(200 if State.ready else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    State.url = f"http://127.0.0.1:{server.server_address[1]}/v2/health/ready"
    yield State
    server.shutdown()
    server.server_close()


async def test_url_wait_until_it_answers(run, http_server):
    http_server.ready_after = 3  # starting, starting, then alive
    runner = await run(f"""
plan: url
steps:
  - id: up
    wait: {{url: {{url: "{http_server.url}", status: 200, contains: alive}}, interval: 50ms}}
    timeout: 10s
  - id: body
    needs: up
    assert: {{value: {{value: "${{steps.up.json.model}}", equals: mnist}}}}
""")
    assert runner.verdict == "passed", runner.state.steps
    assert http_server.hits == 3
    assert runner.state.steps["up"]["outputs"]["status"] == 200
    progress = [e["message"] for e in _events(runner) if e["event"] == "step.progress"]
    assert progress and "status 503" in progress[0]


async def test_url_assert_names_the_status(run, http_server):
    runner = await run(f"""
plan: url-down
steps:
  - {{id: up, assert: {{url: {{url: "{http_server.url}"}}}}}}
""")
    assert "status 503, want a status below 400" in runner.state.steps["up"]["error"]


async def test_metric_wait_on_a_real_mlflow_store(demo_loaded, run, tmp_path):
    """MLflow through the library on the embedded default's SQLite store (the real server runs in
    the MLflow branch's tests; the lead's end-to-end test points the demo plan at it)."""
    import asyncio

    from cockpit.runtime import build_runtime

    rt = build_runtime(demo_loaded, sources=("mlflow",))
    uri = rt.hub.collectors["mlflow"].source.tracking_uri

    def log_run() -> str:
        import mlflow

        client = mlflow.tracking.MlflowClient(tracking_uri=uri)
        exp = client.create_experiment("plans-test")
        run_ = client.create_run(exp, run_name="digits")
        for step, acc in enumerate((0.5, 0.9, 0.98)):
            client.log_metric(run_.info.run_id, "accuracy", acc, step=step)
        client.set_terminated(run_.info.run_id)
        return run_.info.run_id

    run_id = await asyncio.to_thread(log_run)
    runner = await run("""
plan: metric
steps:
  - id: trained
    wait: {metric: {run_name: digits, experiment: plans-test, name: accuracy, ge: 0.97}, interval: 100ms}
    timeout: 60s
  - id: same
    needs: trained
    assert: {metric: {run: "${steps.trained.run_id}", name: accuracy, gt: 0.99}}
""", runtime=rt)
    st = runner.state.steps
    assert st["trained"]["status"] == "passed" and st["trained"]["outputs"]["run_id"] == run_id
    assert st["trained"]["outputs"]["value"] == 0.98
    assert st["same"]["status"] == "failed" and "metrics.accuracy is 0.98, want > 0.99" in st["same"]["error"]
    await rt.close()
