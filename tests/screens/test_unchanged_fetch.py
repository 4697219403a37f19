"""An idle cockpit refetches its sources every few seconds and mostly finds the same data: the
screen then redoes only what shows the fetch time (no GPU map rebuilt, no rows compared), and
still redraws at once when a fetch brings something new. The whole dashboard, over the fixed
sources of tests/screens/conftest.py (their fetches return the same item objects, as the hub
passes them on when a fetch found nothing new)."""

from __future__ import annotations

from textual.widgets import Static

from screens.app import CockpitApp

SIZE = (160, 48)


async def settle(pilot, times: int = 3) -> None:
    for _ in range(times):
        await pilot.pause(0.05)


async def test_a_fetch_with_the_same_data_rebuilds_nothing_and_a_change_is_drawn(fixed_runtime) -> None:
    app = CockpitApp(fixed_runtime)
    hub = fixed_runtime.hub
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        vms_table = app.dashboard.pane("vms").table("vms")
        gpus_table = app.dashboard.pane("vms").table("gpus")
        assert vms_table.row_count == 3 and gpus_table.row_count == 2
        use = app._gpu_use
        use.min_gap_s = 0  # a build may follow the last one at once: none is merely held back below
        builds = use.builds
        assert builds >= 1
        before = gpus_table.shown_snapshot

        # Nothing new: the tables take the newer snapshots, the map is not built again.
        for name in ("vms", "gpus", "mlflow"):
            await hub[name].fetch_once()
        await settle(pilot)
        assert use.builds == builds
        assert vms_table.shown_snapshot is hub["vms"].snapshot
        assert gpus_table.shown_snapshot.version == hub["gpus"].snapshot.version > before.version
        assert gpus_table.shown_snapshot.items is before.items

        # A VM stops: its row says so, and the map (which VM holds which GPU) is built again.
        source = hub["vms"].source
        source.items = [vm.model_copy(update={"state": "shutoff", "cpu_percent": None})
                        if vm.name == "hpc-compute-01" else vm for vm in source.items]
        await hub["vms"].fetch_once()
        await settle(pilot)
        state = [c.title for c in vms_table.columns_spec].index("STATE")
        shown = {vms_table.get_row_at(i)[0]: vms_table.get_row_at(i)[state] for i in range(vms_table.row_count)}
        assert "shutoff" in shown["hpc-compute-01"]
        assert use.builds == builds + 1
        assert "ok, 3 items" in str(app.dashboard.query_one("#status-vms", Static).render())
