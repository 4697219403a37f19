"""The five-pane screen driven with Textual's Pilot: keys, pane moves, filter, states, actions."""

from __future__ import annotations

from textual.widgets import Input, Static

from cockpit.runtime import build_runtime
from screens.app import CockpitApp
from screens.modals import ConfirmScreen, DetailScreen, HelpScreen
from screens.pane import SourcePane, SourceTable

from .conftest import static_runtime

SIZE = (160, 48)


async def settle(pilot, times: int = 3):
    for _ in range(times):
        await pilot.pause(0.05)


async def test_five_panes_with_status_and_unconfigured_hints(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panes = app.dashboard.query(SourcePane)
        assert sorted(p.pane_id for p in panes) == sorted(["vms", "slurm", "storage", "kubernetes", "mlflow"])
        # Unconfigured panes collapse to their one-line hint and give their space away.
        assert sorted(p.pane_id for p in panes if p.has_class("collapsed")) == ["kubernetes", "slurm", "storage"]
        assert app.dashboard.pane("slurm").region.height < app.dashboard.pane("mlflow").region.height
        assert app.dashboard.pane("vms").table("vms").row_count == 3
        assert app.dashboard.pane("vms").table("gpus").row_count == 2
        hint = app.dashboard.query_one("#status-slurm", Static)
        assert "not configured" in str(hint.render()) and "set cockpit.slurm or SLURM_CONF" in str(hint.render())
        assert app.dashboard.pane("slurm").tables() == []  # no tables for an unconfigured source
        status = str(app.dashboard.query_one("#status-vms", Static).render())
        assert "ok, 3 items" in status


async def test_help_filter_detail_and_quit_keys(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is app.dashboard
        table = app.dashboard.pane("vms").table("vms")
        assert app.focused is table
        await pilot.press("slash", *"state=running", "enter")
        await settle(pilot)
        assert table.row_count == 2 and table.filter_text == "state=running"
        await pilot.press("slash", "ctrl+u", *"!compute", "enter")
        await settle(pilot)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == ["hpc-controller", "cloud-gpu-worker-01"]
        await pilot.press("escape")  # clears the filter
        assert table.row_count == 3
        await pilot.press("enter")  # VMs open their own detail screen (XML, devices, IPs)
        await settle(pilot)
        assert type(app.screen).__name__ == "VmDetailScreen" and app.screen.item.name == "hpc-controller"
        await pilot.press("escape")
        assert app.screen is app.dashboard
        app.dashboard.pane("vms").table("gpus").focus()
        await settle(pilot)
        await pilot.press("enter")  # GPUs have no screen of their own: the detail modal
        assert isinstance(app.screen, DetailScreen)
        assert "0000:01:00.0" in str(app.screen.renderable) and "hpc-compute-01" in str(app.screen.renderable)
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_bad_regex_filter_says_so_and_keeps_rows(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"name~[unclosed", "enter")
        await settle(pilot)
        assert app.dashboard.pane("vms").table("vms").row_count == 3
        assert "bad regex" in str(app.dashboard.query_one("#message", Static).render())


async def test_pane_moves_with_number_keys_and_tab(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.focused, SourceTable) and app.focused.source == "mlflow"
        await pilot.press("1")
        await settle(pilot)
        assert app.focused.source == "vms"
        # The next pane, not the GPU table inside the VMs pane; SLURM, storage and Kubernetes are
        # unconfigured here (collapsed to their hints), so tab skips them.
        await pilot.press("tab")
        await settle(pilot)
        assert isinstance(app.focused, SourceTable) and app.focused.source == "mlflow"
        await pilot.press("tab")  # wraps around
        await settle(pilot)
        assert app.focused.source == "vms"
        await pilot.press("shift+tab")
        await settle(pilot)
        assert app.focused.source == "mlflow"
        await pilot.press("2")  # a number still reaches an unconfigured pane: it takes focus itself
        await settle(pilot)
        assert app.dashboard.current == "slurm" and app.focused is app.dashboard.pane("slurm")
        await pilot.press("4")
        # The Kubernetes pane is unconfigured: its table is hidden, focus stays usable.
        assert app.screen is app.dashboard


async def test_failing_backend_shows_its_error_while_others_keep_updating(tmp_path, demo_loaded):
    runtime = static_runtime(tmp_path, demo_loaded, fail_slurm="slurmctld at 10.0.0.1:6817: connection refused")
    app = CockpitApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, 5)
        status = str(app.dashboard.query_one("#status-slurm", Static).render())
        assert "error" in status and "connection refused" in status
        vms_source = runtime.hub["vms"].source
        calls = vms_source.calls
        runtime.hub["vms"].refresh()
        await settle(pilot, 5)
        assert vms_source.calls > calls
        assert app.dashboard.pane("vms").table("vms").row_count == 3


async def test_command_line_runs_an_action_after_confirmation_on_the_real_demo(demo_loaded, tmp_path):
    runtime = build_runtime(demo_loaded, audit_path=tmp_path / "audit.jsonl")
    app = CockpitApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, 10)
        await pilot.press("colon", *"vm.shutdown name=hpc-controller", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "ACPI shutdown to VM hpc-controller" in app.screen.text
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await settle(pilot)
        state = runtime.adapter("vms").host().run(lambda c: c.lookupByName("hpc-controller").state()[0])
        assert state == 5
        events = [r["event"] for r in runtime.audit.records()]
        assert events == ["action.start", "action.end"]
        # A cancelled confirmation runs nothing.
        await pilot.press("colon", *"vm.start name=hpc-controller", "enter")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert runtime.adapter("vms").host().run(lambda c: c.lookupByName("hpc-controller").state()[0]) == 5
        assert len(list(runtime.audit.records())) == 2


async def test_row_action_key_in_read_only_mode_is_refused_and_audited(demo_loaded, tmp_path):
    runtime = build_runtime(demo_loaded, audit_path=tmp_path / "audit.jsonl", read_only=True)
    app = CockpitApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, 10)
        await pilot.press("1", "S")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "read-only mode" in str(app.dashboard.query_one("#message", Static).render())
        records = list(runtime.audit.records())
        assert [r["event"] for r in records] == ["action.refused"]


async def test_unknown_command_is_reported(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"frobnicate", "enter")
        await settle(pilot)
        assert "unknown command 'frobnicate'" in str(app.dashboard.query_one("#message", Static).render())
        assert not app.dashboard.query_one("#prompt", Input).has_class("visible")


def test_dashboard_picture(snap_compare, tmp_path, demo_loaded):
    """Visual snapshot of the whole screen with fixed data (tests/screens/__snapshots__)."""
    app = CockpitApp(static_runtime(tmp_path, demo_loaded))

    async def run_before(pilot):
        await settle(pilot, 5)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_plan_provisioning_and_pane_screens_open_from_the_dashboard(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"plan workloads/plans/demo.yaml", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "PlanScreen"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.dashboard
        await pilot.press("colon", *"provisioning", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ProvisioningRunScreen"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("5", "m")  # the MLflow pane's model registry
        await settle(pilot)
        assert type(app.screen).__name__ == "RegistryScreen"


async def test_prompt_takes_keys_that_are_bindings_elsewhere_as_text(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"q?/:x")
        prompt = app.dashboard.query_one("#prompt", Input)
        assert prompt.value == "q?/:x" and app.is_running
        await pilot.press("escape")
        assert not prompt.has_class("visible")
