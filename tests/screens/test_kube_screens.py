"""Kubernetes screens driven by Textual's pilot, with a runtime whose kubernetes source talks to
the fake apiserver (tests/fakes/kube_apiserver.py) through a real kubeconfig."""

from __future__ import annotations


import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import Button, Input, RichLog, Static

from backends.kube.models import PodItem
from cockpit.config import parse_config
from cockpit.runtime import build_runtime
from screens.kube_job import JobScreen, pods_by_role
from screens.kube_pod import PodScreen
from screens.kube_wizard import FormError, TrainingWizard, wizard_params
from screens.render.kubernetes import COLUMNS, filter_pods
from tests.fakes.kube_apiserver import LOCALQUEUE, MPIJOB_V2, POD, RESOURCEQUOTA, FakeApiServer

ON_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def fake():
    server = FakeApiServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def runtime(fake, tmp_path):
    kc = fake.write_kubeconfig(tmp_path / "kubeconfig")
    rt = build_runtime(parse_config(f"cockpit:\n  kubernetes:\n    kubeconfig: {kc}\n", "t.yaml", env={}),
                       sources=("kubernetes",), audit_path=tmp_path / "audit.jsonl")
    yield rt
    await rt.close()


class Host(App[None]):
    def __init__(self, screen) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


def text_of(widget: Static) -> str:
    console = Console(width=200, record=True)
    console.print(widget.content)
    return console.export_text()


async def until(pilot, cond, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


FORM = {"name": "mnist", "image": "horovod/horovod:0.28.1", "command": "python train.py --epochs 5",
        "workers": "2", "gpus": "1", "env": "NCCL_DEBUG=INFO", "volumes": "data:pvc=datasets:/data"}


async def fill(screen, values):
    for fid, value in values.items():
        screen.query_one(f"#{fid}", Input).value = value


@ON_SESSION_LOOP
async def test_wizard_reviews_the_manifest_then_submits(fake, runtime):
    fake.install_crd(MPIJOB_V2)
    fake.install_crd(LOCALQUEUE)
    fake.put(LOCALQUEUE, {"metadata": {"name": "team-a"}, "spec": {}})
    wizard = TrainingWizard(runtime)
    async with Host(wizard).run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        await fill(wizard, FORM)
        await pilot.pause()
        assert wizard.query_one("#submit", Button).disabled
        wizard.query_one("#review", Button).press()
        review = wizard.query_one("#wizard-review", Static)
        await until(pilot, lambda: "kind: MPIJob" in text_of(review))
        shown = text_of(review)
        assert "Create MPIJob default/mnist: 2 worker(s)" in shown
        assert "kueue.x-k8s.io/queue-name: team-a" in shown and "claimName: datasets" in shown
        assert fake.get(MPIJOB_V2, "mnist") is None  # reviewing submits nothing
        assert not wizard.query_one("#submit", Button).disabled
        wizard.query_one("#submit", Button).press()
        await until(pilot, lambda: fake.get(MPIJOB_V2, "mnist") is not None)
        await until(pilot, lambda: "created MPIJob/default/mnist" in text_of(review))


@ON_SESSION_LOOP
async def test_wizard_shows_quota_shortfall_and_keeps_submit_disabled(fake, runtime):
    fake.install_crd(MPIJOB_V2)
    fake.put(RESOURCEQUOTA, {"metadata": {"name": "gpus"}, "status": {
        "hard": {"requests.nvidia.com/gpu": "1"}, "used": {"requests.nvidia.com/gpu": "0"}}})
    wizard = TrainingWizard(runtime)
    async with Host(wizard).run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        await fill(wizard, FORM)
        wizard.query_one("#review", Button).press()
        review = wizard.query_one("#wizard-review", Static)
        await until(pilot, lambda: "would not fit" in text_of(review))
        assert "used 0, available 1 of 1, requested 2" in text_of(review)
        assert wizard.query_one("#submit", Button).disabled


@ON_SESSION_LOOP
async def test_wizard_bad_input_is_shown_not_raised(fake, runtime):
    wizard = TrainingWizard(runtime)
    async with Host(wizard).run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        await fill(wizard, {**FORM, "name": "Bad_Name"})
        wizard.query_one("#review", Button).press()
        review = wizard.query_one("#wizard-review", Static)
        await until(pilot, lambda: "name" in text_of(review) and "DNS label" in text_of(review))


def test_wizard_form_parsing():
    params = wizard_params("PyTorchJob", {**FORM, "namespace": "ml", "cpu": "4", "memory": "16Gi",
                                          "volumes": "a:pvc=c:/a, b:host=/mnt/beegfs:/b", "queue": "q"})
    assert params["command"] == ["python", "train.py", "--epochs", "5"]
    assert params["volumes"] == [{"name": "a", "mount_path": "/a", "claim": "c"},
                                 {"name": "b", "mount_path": "/b", "host_path": "/mnt/beegfs"}]
    assert params["env"] == {"NCCL_DEBUG": "INFO"} and params["queue"] == "q"
    for bad in ({"workers": "two"}, {"volumes": "nope"}, {"env": "NOEQUALS"}, {"command": "python 'unclosed"}):
        with pytest.raises(FormError):
            wizard_params("MPIJob", {**FORM, "namespace": "default", "cpu": "1", "memory": "1Gi", **bad})


@ON_SESSION_LOOP
async def test_pod_screen_describes_with_events_and_switches_log_container(fake, runtime):
    p = fake.put(POD, {"metadata": {"name": "mnist-launcher"}, "spec": {"containers": [
        {"name": "launcher", "image": "horovod"}, {"name": "sidecar", "image": "busybox"}]},
        "status": {"phase": "Running"}})
    fake.add_event(p, "BackOff", "Back-off restarting failed container launcher", "Warning")
    fake.append_log("default", "mnist-launcher", "launcher", "epoch 1", "epoch 2")
    fake.append_log("default", "mnist-launcher", "sidecar", "sidecar up")
    screen = PodScreen(runtime, PodItem.from_api(p))
    async with Host(screen).run_test(size=(160, 50)) as pilot:
        describe = screen.query_one("#pod-describe", Static)
        log = screen.query_one("#pod-log", RichLog)
        await until(pilot, lambda: "BackOff" in text_of(describe))
        assert "Back-off restarting failed container launcher" in text_of(describe)
        await until(pilot, lambda: len(log.lines) == 2)
        assert [line.text for line in log.lines] == ["epoch 1", "epoch 2"]
        await pilot.press("c")
        await until(pilot, lambda: [line.text for line in log.lines] == ["sidecar up"])
        await pilot.press("f")  # follow: new lines arrive while the screen is open
        await until(pilot, lambda: "follow on" in text_of(screen.query_one("#pod-log-head", Static)))
        await pilot.pause(0.3)
        fake.append_log("default", "mnist-launcher", "sidecar", "sidecar still up")
        await until(pilot, lambda: "sidecar still up" in [line.text for line in log.lines])
    assert list(runtime.audit.records()) == []  # describe and logs are reads: the query seam, not audited


@ON_SESSION_LOOP
async def test_pod_screen_of_a_vanished_pod_says_so(fake, runtime):
    item = PodItem(uid="u", namespace="default", name="gone", phase="Running", reason="Running", containers=("c",))
    screen = PodScreen(runtime, item)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        describe = screen.query_one("#pod-describe", Static)
        await until(pilot, lambda: "cannot describe" in text_of(describe))
        assert 'pods "gone" not found' in text_of(describe)


@ON_SESSION_LOOP
async def test_job_screen_opens_launcher_and_worker_logs(fake, runtime):
    fake.install_crd(MPIJOB_V2)
    fake.put(MPIJOB_V2, {"metadata": {"name": "mnist"}, "spec": {}, "status": {"conditions": [
        {"type": "Running", "status": "True", "reason": "MPIJobRunning"}]}})
    for name, role in (("mnist-launcher", "launcher"), ("mnist-worker-0", "worker"), ("mnist-worker-1", "worker")):
        fake.put(POD, {"metadata": {"name": name, "labels": {"training.kubeflow.org/job-name": "mnist",
                                                             "training.kubeflow.org/job-role": role}},
                       "spec": {"containers": [{"name": "main", "image": "x"}]}, "status": {"phase": "Running"}})
    collector = runtime.hub.collectors["kubernetes"]
    snap = await collector.fetch_once()
    job = snap.sections["training_jobs"][0]
    assert [p.name for p in pods_by_role(list(snap.items.values()), "worker")] == ["mnist-worker-0", "mnist-worker-1"]
    screen = JobScreen(runtime, job)
    async with Host(screen).run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert "MPIJobRunning" in text_of(screen.query_one("#job-detail", Static))
        await pilot.press("w")
        await until(pilot, lambda: isinstance(pilot.app.screen, PodScreen))
        assert pilot.app.screen.item.name == "mnist-worker-0"
        await pilot.press("escape")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(pilot.app.screen, PodScreen) and
                    pilot.app.screen.item.name == "mnist-worker-1")
        await pilot.press("escape")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(pilot.app.screen, PodScreen) and
                    pilot.app.screen.item.name == "mnist-launcher")


def test_pod_rows_and_filter():
    pods = [PodItem(uid=str(i), namespace=ns, name=n, phase="Running", reason=r, node="gpu-1", gpus=1)
            for i, (ns, n, r) in enumerate([("ml", "a", "Running"), ("ml", "b", "CrashLoopBackOff"),
                                            ("web", "c", "Running")])]
    assert [c.title for c in COLUMNS][:4] == ["NAMESPACE", "NAME", "PHASE", "STATUS"]
    assert [c.cell(pods[1]) for c in COLUMNS] == ["ml", "b", "Running", "CrashLoopBackOff", "0/0", "0",
                                                  "gpu-1", "1", "-"]
    assert [p.name for p in filter_pods(pods, namespace="ml")] == ["a", "b"]
    assert [p.name for p in filter_pods(pods, text="crash")] == ["b"]
    assert [p.name for p in filter_pods(pods, namespace="web", text="crash")] == []
