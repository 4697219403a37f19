"""Storage pane rendering and the detail screen (Textual pilot, no backend: snapshots are built
from the same models the BeeGFS source publishes)."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.console import Console
from textual.app import App

from backends.beegfs.models import ClientMount, Note, Reason, ServiceState, StorageNode, StorageTarget, Verdict
from cockpit.snapshot import FetchResult, Snapshot, Status
from screens.render import storage as render
from screens.storage_detail import StorageScreen

GIB = 1024**3
TARGETS = [StorageTarget(id=101, type="storage", node="stor01", node_id=1, reachability="Online", consistency="Good",
                         capacity_pool="normal", total_bytes=100 * GIB, free_bytes=25 * GIB, total_inodes=1000,
                         free_inodes=900),
           StorageTarget(id=202, type="storage", node="stor02", reachability="Online", consistency="Needs-resync")]
VERDICT = Verdict(status="degraded", summary="degraded: target 202 on stor02 needs a resync",
                  reasons=(Reason(severity="warning", subject="target storage:202", message="target 202 on stor02 needs a resync"),))
PROBE = {"finished_at": "2026-01-02T03:04:05+00:00", "nodes": [{"node": "local"}], "size_mb": 1024,
         "write_mb_s": 1234.5, "read_mb_s": 2345.6, "create_ops_s": 5000.0, "meets_target": True, "target_mb_s": 1000}


def snapshot(**changes) -> Snapshot:
    sections = dict(nodes=[StorageNode(id="storage:2", num_id=2, type="storage", name="stor02", host="10.0.0.2",
                                       reachable=False)],
                    mounts=[ClientMount(host="c1", mount_point="/mnt/beegfs", mounted=False)],
                    services=[ServiceState(host="c1", unit="beegfs-client", active="failed")],
                    verdict=VERDICT, last_probe=PROBE, tool="beegfs-ctl")
    result = FetchResult.of(TARGETS, **{**sections, **changes})
    return Snapshot(source="storage", status=Status.OK, fetched_at=datetime.now(timezone.utc),
                    items=result.items, sections=result.sections)


def text_of(renderable) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_columns_and_bars():
    cells = [c.cell(TARGETS[0]) for c in render.COLUMNS]
    assert cells[:4] == ["storage:101", "stor01", "Online", "Good"]
    assert cells[4] == "████████░░  75%" and cells[5] == "100.0 GiB" and cells[6] == "25.0 GiB"
    assert [c.cell(TARGETS[1]) for c in render.COLUMNS][4:7] == ["-", "-", "-"]  # unknown capacity: no fake bar
    assert "25.0 GiB free of 100.0 GiB" in render.detail(TARGETS[0])


def test_overview_shows_verdict_reasons_nodes_mounts_probe():
    out = text_of(render.overview(snapshot()))
    assert "DEGRADED" in out and "needs a resync" in out
    assert "stor02" in out and "NO" in out  # unreachable node
    assert "c1" in out and "beegfs-client=failed" in out
    assert "write 1234 MB/s" in out and "meets 1000 MB/s target" in out
    assert "via beegfs-ctl" in out
    failed = text_of(render.probe_line({"finished_at": "x", "nodes": [], "write_mb_s": None, "errors": ["n1: boom"]}))
    assert "failed: n1: boom" in failed
    assert "Not shown" not in out


def test_notes_mark_the_parts_an_optional_command_could_not_fill():
    note = Note(part="capacity (beegfs-df)", message="`beegfs-df` on mgmt exited 1: management unreachable")
    snap = snapshot(notes=[note])
    out = text_of(render.overview(snap))
    assert "Not shown" in out and "capacity (beegfs-df)" in out and "management unreachable" in out
    assert "not shown: capacity (beegfs-df)" in text_of(render.summary(snap))
    assert "not shown" not in text_of(render.summary(snapshot(notes=[])))


class _Collector:
    def __init__(self, snap):
        self.snapshot = snap
        self.subscribers = []
        self.refreshed = 0

    def subscribe(self, cb):
        self.subscribers.append(cb)
        return lambda: self.subscribers.remove(cb)

    def watch(self):
        return lambda: None

    def refresh(self):
        self.refreshed += 1


class _Dispatcher:
    def __init__(self):
        self.calls = []

    def prepare(self, name, params):
        from cockpit.actions import Danger

        class P:
            action = type("A", (), {"danger": Danger.CHANGE})()
            confirmation = "On this machine: write 1024 MiB ..."
            params = {}
        return P()

    def allowed(self, action, actor):
        return None

    async def invoke(self, name, params, **kw):
        self.calls.append((name, params, kw["confirmed"]))

        class R:
            ok, result, error = True, {"write_mb_s": 900.0, "read_mb_s": 1800.0}, None
        return R()


class _Runtime:
    def __init__(self, snap):
        self.hub = type("Hub", (), {"collectors": {"storage": _Collector(snap)}})()
        self.dispatcher = _Dispatcher()
        from cockpit.ops import default_registry

        self.registry = default_registry()  # the real action names, titles and parameter models


async def test_detail_screen_updates_refreshes_and_probes_after_confirmation():
    runtime = _Runtime(snapshot())

    class Host(App):
        def on_mount(self):
            self.push_screen(StorageScreen(runtime, history_loader=lambda: [PROBE]))

    app = Host()
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert "needs a resync" in text_of(screen.query_one("#overview").content)
        assert "Probe history" in text_of(screen.query_one("#history").content)
        collector = runtime.hub.collectors["storage"]
        ok = snapshot(verdict=Verdict(status="ok", summary="healthy: 3 servers"))
        for cb in list(collector.subscribers):
            cb(ok)
        await pilot.pause()
        assert "healthy: 3 servers" in text_of(screen.query_one("#overview").content)
        await pilot.press("r")
        assert collector.refreshed == 1
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("escape")  # cancelled: nothing runs
        await pilot.pause()
        assert runtime.dispatcher.calls == []
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert runtime.dispatcher.calls == [("storage.probe", {}, True)]
        assert "probe done: write 900 MB/s" in str(screen.query_one("#status").content)
