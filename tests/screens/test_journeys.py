"""Journeys under Pilot: the message area says what went wrong and how to fix it, zoom, the
one-pane layout of small terminals, and a cockpit with nothing configured still answering keys."""

from __future__ import annotations

from textual.widgets import Input

from cockpit.hub import Collector, Hub, Timing, UnconfiguredSource
from cockpit.runtime import CockpitRuntime
from screens.app import CockpitApp
from screens.messages import MessageArea
from screens.modals import ConfirmScreen, HelpScreen, ParamsForm
from screens.pane import SourceTable

WIDE, NARROW = (200, 55), (100, 30)


async def settle(pilot, times: int = 4):
    for _ in range(times):
        await pilot.pause(0.05)


def message(app) -> MessageArea:
    return app.dashboard.query_one("#message", MessageArea)


def unconfigured_runtime(tmp_path, loaded) -> CockpitRuntime:
    from cockpit.audit import AuditLog
    from cockpit.ops import default_registry

    hints = {"vms": "set cockpit.libvirt", "gpus": "set cockpit.gpus", "slurm": "set cockpit.slurm or SLURM_CONF",
             "storage": "set cockpit.beegfs.management_host", "kubernetes": "set cockpit.kubernetes or KUBECONFIG",
             "mlflow": "set cockpit.mlflow or MLFLOW_TRACKING_URI"}
    hub = Hub([Collector(UnconfiguredSource(name, hint), Timing(interval=3600, min_interval=0, backoff_base=3600))
               for name, hint in hints.items()])
    return CockpitRuntime(loaded=loaded, hub=hub, registry=default_registry(), audit=AuditLog(tmp_path / "audit.jsonl"))


async def test_message_area_sits_just_above_the_footer_and_says_what_to_fix(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        area = message(app)
        footer = app.dashboard.query_one("Footer")
        assert area.region.bottom == footer.region.y  # visible, right above the footer
        await pilot.press("colon", *"refrsh", "enter")
        await settle(pilot)
        assert area.kind == "error" and "unknown command 'refrsh'" in area.text and "did you mean refresh" in area.text
        await pilot.press("colon", *"vm.strat", "enter")
        await settle(pilot)
        assert "did you mean vm.start" in area.text
        await pilot.press("colon", *"pane nowhere", "enter")
        await settle(pilot)
        assert area.kind == "error" and "expected one of vms, slurm" in area.text
        await pilot.press("slash", *"name~[unclosed", "enter")
        await settle(pilot)
        assert area.kind == "error" and "the previous filter stays" in area.text
        await pilot.press("escape")
        await settle(pilot)
        assert area.kind == "hint"  # escape clears a message
        await pilot.press("2", "r")  # SLURM is unconfigured here
        await settle(pilot)
        assert area.kind == "warning" and "nothing to refresh" in area.text and "SLURM_CONF" in area.text
        await pilot.press("4", "w")  # the Kubernetes wizard on an unconfigured pane
        await settle(pilot)
        assert area.kind == "warning" and "KUBECONFIG" in area.text


async def test_action_without_parameters_opens_a_form_prefilled_from_the_row(demo_loaded, tmp_path):
    from cockpit.runtime import build_runtime

    # The real demo (libvirt's test driver): the confirmation reads the VM it would hit.
    runtime = build_runtime(demo_loaded, audit_path=tmp_path / "audit.jsonl")
    app = CockpitApp(runtime)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 10)
        table = app.dashboard.pane("vms").table("vms")
        table.focus()
        table.move_cursor(1)
        await settle(pilot)
        selected = table.selected_item().name
        await pilot.press("colon", *"vm.start", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ParamsForm)
        assert app.screen.query_one("#field-name", Input).value == selected
        await pilot.press("escape")
        await settle(pilot)
        assert "cancelled" in message(app).text
        # From the palette: every action is listed and opens the same form.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"vm.start")
        await settle(pilot, 10)
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, ConfirmScreen):
                break
        assert isinstance(app.screen, ConfirmScreen) and selected in app.screen.text
        await pilot.press("n")
        await settle(pilot)
        assert "cancelled, nothing was done" in message(app).text
        assert list(runtime.audit.records()) == []


async def test_zoom_key_toggles_the_focused_pane_full_screen(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.dashboard.mode == "grid"
        await pilot.press("5", "z")
        await settle(pilot)
        mlflow, vms = app.dashboard.pane("mlflow"), app.dashboard.pane("vms")
        assert app.dashboard.mode == "zoom" and mlflow.display and not vms.display
        assert mlflow.region.width == WIDE[0]
        assert "zoomed" in message(app).text
        # The footer says how to get back.
        assert "zoom" in {b.binding.description for b in app.active_bindings.values() if b.binding.show}
        await pilot.press("z")
        await settle(pilot)
        assert app.dashboard.mode == "grid" and vms.display and mlflow.display
        await pilot.press("z", "escape")  # escape also leaves the zoom
        await settle(pilot)
        assert app.dashboard.mode == "grid"


async def test_small_terminal_shows_one_pane_with_a_pane_bar(fixed_runtime):
    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert app.dashboard.mode == "single"
        shown = [p.pane_id for p in app.dashboard.panes() if p.display]
        assert shown == ["vms"]
        bar = app.dashboard.query_one("#pane-bar")
        assert bar.display and "5 MLflow" in str(bar.render())
        await pilot.press("tab")  # skips the unconfigured panes (1-5 still reach them)
        await settle(pilot)
        assert [p.pane_id for p in app.dashboard.panes() if p.display] == ["mlflow"]
        await pilot.press("2")
        await settle(pilot)
        assert [p.pane_id for p in app.dashboard.panes() if p.display] == ["slurm"]
        await pilot.press("5")
        await settle(pilot)
        assert [p.pane_id for p in app.dashboard.panes() if p.display] == ["mlflow"]
        assert isinstance(app.focused, SourceTable) and app.focused.source == "mlflow"
        # The footer shows the focused table's own row keys.
        await pilot.press("1")
        await settle(pilot)
        descriptions = {b.binding.description for b in app.active_bindings.values()}
        assert {"start", "shut down"} <= descriptions
        await pilot.resize_terminal(*WIDE)
        await settle(pilot)
        assert app.dashboard.mode == "grid" and all(p.display for p in app.dashboard.panes())


async def test_every_source_unconfigured_keys_still_work(tmp_path, demo_loaded):
    app = CockpitApp(unconfigured_runtime(tmp_path, demo_loaded))
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)
        assert app.dashboard.current == "slurm" and app.focused is app.dashboard.pane("slurm")
        await pilot.press("colon")
        await settle(pilot)
        prompt = app.dashboard.query_one("#prompt", Input)
        assert prompt.has_class("visible") and app.focused is prompt
        await pilot.press(*"zoom", "enter")
        await settle(pilot)
        assert app.dashboard.mode == "zoom"
        await pilot.press("q")
        await settle(pilot)
    assert app.return_code == 0


async def test_end_shows_the_last_row_above_a_horizontal_scrollbar():
    """A table wider than its pane gets a horizontal scrollbar; End must still show the last row."""
    from textual.app import App

    from screens.virtual_table import VirtualTable

    table = VirtualTable()

    class Host(App):
        def compose(self):
            yield table

    titles = ["JOBID", "NAME", "REASON"]
    keys = [str(n) for n in range(1, 31)]
    cells = {k: (k, f"job{k}", "x" * 60) for k in keys}
    async with Host().run_test(size=(40, 12)) as pilot:
        table.set_data(titles, [5, 10, 60], keys, cells)
        table.focus()
        await settle(pilot)
        # (Whether a horizontal bar shows depends on how the table fits its columns; End must
        # show the last row either way.)
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == 29
        shown = [table.render_line(y).text for y in range(table.scrollable_content_region.height)]
        assert any(line.lstrip().startswith("30 ") for line in shown), shown


async def test_keys_typed_in_one_burst_after_colon_land_in_the_prompt(fixed_runtime):
    """`:refrsh⏎` arriving at once (a paste, one SSH packet) goes to the prompt, not to the
    table's row keys (`s` would start a VM action)."""
    from textual import events

    app = CockpitApp(fixed_runtime)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, SourceTable)
        for key, char in [("colon", ":"), *((c, c) for c in "refrsh"), ("enter", "\r")]:
            app.post_message(events.Key(key, char))
        await settle(pilot, 8)
        assert app.screen is app.dashboard
        assert "unknown command 'refrsh'" in message(app).text
        await pilot.press("colon", *"a:b/c")  # in the prompt, : and / are text
        assert app.dashboard.query_one("#prompt", Input).value == "a:b/c"
