"""Columns and row actions of the VMs table, and its detail screen."""

from typing import Any

from screens.render import Column, attr, bar


def cpu(item: Any) -> str:
    return bar(item.cpu_percent / 100, width=8) if item.cpu_percent is not None else "-"


COLUMNS = [
    Column("NAME", attr("name")),
    Column("HOST", attr("host")),
    Column("STATE", attr("state")),
    Column("VCPU", attr("vcpus")),
    Column("MEM MiB", attr("memory_mib")),
    Column("CPU", cpu),
    Column("IPS", attr("ips")),
    Column("GPUS", attr("gpus")),
]

# (key, action, label, params from the selected row); the dashboard confirms with the action's text.
ROW_ACTIONS = [
    ("s", "vm.start", "Start", lambda vm: {"name": vm.name, "host": vm.host}),
    ("S", "vm.shutdown", "Shut down", lambda vm: {"name": vm.name, "host": vm.host}),
    ("F", "vm.force_off", "Force off", lambda vm: {"name": vm.name, "host": vm.host}),
]

# enter: the full VM detail (XML, devices, IPs via vm.describe).
DETAIL_SCREEN = "screens.vms_detail:VmDetailScreen"


def detail_text(item: Any) -> str:
    """Plain-text summary of a VM row."""
    lines = [f"{item.name}  ({item.state}) on {item.host}", f"uuid      {item.uuid}",
             f"vcpus     {item.vcpus}", f"memory    {item.memory_mib} MiB",
             f"cpu       {item.cpu_percent if item.cpu_percent is not None else '-'} %",
             f"ips       {', '.join(item.ips) or '-'}", f"gpus      {', '.join(item.gpus) or '-'}",
             f"autostart {'yes' if item.autostart else 'no'}"]
    return "\n".join(lines)
