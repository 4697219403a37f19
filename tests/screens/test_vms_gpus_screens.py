"""VM/GPU rendering, the VM detail screen and the assign-GPU modal (conflicts shown before the
confirm button is enabled), on the libvirt test driver."""

from __future__ import annotations

from textual.widgets import Button, OptionList, Static

from backends.gpus.models import GpuItem, NvmlReading
from cockpit.config import parse_config
from cockpit.runtime import build_runtime
from screens.gpus_assign import AssignGpuScreen
from screens.render import gpus as gpu_render
from screens.render import vms as vm_render
from screens.vms_detail import VmDetailScreen
from tests.backends.libvirt.conftest import lab_uri  # noqa: F401
from tests.screens.host_app import Host


def test_gpu_columns_bars_and_sparkline() -> None:
    item = GpuItem(pci_address="0000:41:00.0", host="h", name="H100", vendor_id="10de", device_id="2331",
                   nvml=NvmlReading(utilization_pct=50, memory_used_mib=40960, memory_total_mib=81920, temperature_c=61,
                                    source="guest-nvidia-smi", vm="node-1"),
                   util_history=(0, 25, 50, 100), conflicts=("x",))
    cells = {c.title: c.cell(item) for c in gpu_render.COLUMNS}
    assert cells["UTIL"] == "████░░░░  50%"
    assert cells["HISTORY"] == "▁▂▄█"
    assert cells["MEM"].endswith("40.0/80G") and cells["FROM"] == "guest:node-1" and cells["CONFLICTS"] == "⚠ 1"
    assert "⚠ x" in gpu_render.detail(item)
    bare = item.model_copy(update={"nvml": None, "util_history": (), "conflicts": ()})
    assert {c.title: c.cell(bare) for c in gpu_render.COLUMNS}["UTIL"] == "-"


def runtime_for(uri: str, tmp_path):
    loaded = parse_config(f"cockpit:\n  gpus:\n    guest_telemetry: false\n  libvirt:\n    hosts:\n"
                          f"      - name: lab\n        uri: '{uri}'\n", "test")
    return build_runtime(loaded, sources=("vms", "gpus"), audit_path=tmp_path / "audit.jsonl")


async def test_assign_modal_shows_conflicts_before_confirm(lab_uri, tmp_path) -> None:
    rt = runtime_for(lab_uri, tmp_path)
    await rt.hub.fetch_all()
    gpus = (await rt.hub.collectors["gpus"].fetch_once()).items
    screen = AssignGpuScreen(rt, gpus["lab/0000:07:00.0"])
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        options = screen.query_one("#vms", OptionList)
        names = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert names == ["host-driver-vm", "idle", "split-vm", "train-a", "train-b"]
        options.highlighted = names.index("split-vm")
        await pilot.pause(0.3)
        assert screen.query_one("#confirm", Button).disabled is False
        assert "adds: 0000:07:00.0, 0000:07:00.1" in str(screen.query_one("#check", Static).render())
        await pilot.click("#confirm")
        await pilot.pause(0.3)
    snap = await rt.hub.collectors["vms"].fetch_once()
    assert next(i for i in snap.items.values() if i.name == "split-vm").gpus == ("0000:42:00.0", "0000:07:00.0", "0000:07:00.1")

    # a GPU held by a running VM: the conflict is shown and confirm stays disabled
    screen = AssignGpuScreen(rt, gpus["lab/0000:01:00.0"])
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        options = screen.query_one("#vms", OptionList)
        options.highlighted = 1  # idle
        await pilot.pause(0.3)
        text = str(screen.query_one("#check", Static).render())
        assert "held by running VM train-a" in text and screen.query_one("#confirm", Button).disabled is True


async def test_vm_detail_screen_shows_devices_and_xml(lab_uri, tmp_path) -> None:
    rt = runtime_for(lab_uri, tmp_path)
    snap = await rt.hub.collectors["vms"].fetch_once()
    item = next(i for i in snap.items.values() if i.name == "train-a")
    assert "0000:01:00.0" in vm_render.detail_text(item)
    screen = VmDetailScreen(rt, item)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        summary = str(screen.query_one("#summary", Static).render())
        assert "0000:01:00.0" in summary and "managed" in summary
        assert "<hostdev" in str(screen.query_one("#xml", Static).render())
