"""Columns and row actions of the VMs table, and its detail screen."""

from typing import Any

from cockpit.values import size
from screens.render import Column, attr, bar
from screens.render.colours import VM_STATES, RowStyle


def cpu(item: Any) -> str:
    return bar(item.cpu_percent / 100, width=8) if item.cpu_percent is not None else "-"


COLUMNS = [
    Column("NAME", attr("name"), priority=10),
    Column("HOST", attr("host"), priority=3),
    Column("STATE", attr("state"), priority=9),
    Column("VCPU", attr("vcpus")),
    Column("MEM MiB", attr("memory_mib")),
    Column("CPU", cpu, sort=attr("cpu_percent"), priority=5),
    Column("IPS", attr("ips")),
    Column("GPUS", attr("gpus"), priority=8),  # the pane is about GPU assignment
]

ROW_STYLE = RowStyle(attr("state"), VM_STATES)

# (key, action, label, params from the selected row); the dashboard confirms with the action's text.
ROW_ACTIONS = [
    ("s", "vm.start", "Start", lambda vm: {"name": vm.name, "host": vm.host}),
    ("S", "vm.shutdown", "Shut down", lambda vm: {"name": vm.name, "host": vm.host}),
    ("F", "vm.force_off", "Force off", lambda vm: {"name": vm.name, "host": vm.host}),
]
# `m`: the GPU map through this VM: its GPUs, the node it is, the job or pod, the run (read-only).
ROW_SCREENS = [("m", "screens.gpu_chain:VmChainScreen", "map: GPUs, node, job/pod, run")]

# enter: the full VM detail (XML, devices, IPs via vm.describe).
DETAIL_SCREEN = "screens.vms_detail:VmDetailScreen"


def detail_text(item: Any) -> str:
    """Plain-text summary of a VM row."""
    lines = [f"{item.name}  ({item.state}) on {item.host}", f"uuid      {item.uuid}",
             f"vcpus     {item.vcpus}", f"memory    {size(item.memory_mib * 2**20) if item.memory_mib else '-'}",
             f"cpu       {f'{item.cpu_percent:.1f} %' if item.cpu_percent is not None else '-'}",
             f"ips       {', '.join(item.ips) or '-'}", f"gpus      {', '.join(item.gpus) or '-'}",
             f"autostart {'yes' if item.autostart else 'no'}"]
    return "\n".join(lines)
