"""Columns and row actions of the VMs table."""

from screens.render import Column, attr

COLUMNS = [
    Column("NAME", attr("name")),
    Column("HOST", attr("host")),
    Column("STATE", attr("state")),
    Column("VCPU", attr("vcpus")),
    Column("MEM MiB", attr("memory_mib")),
    Column("CPU%", attr("cpu_percent")),
    Column("IPS", attr("ips")),
    Column("GPUS", attr("gpus")),
]

# (key, action, label, params from the selected item)
ROW_ACTIONS = [
    ("s", "vm.start", "Start", lambda vm: {"name": vm.name, "host": vm.host}),
    ("S", "vm.shutdown", "Shut down", lambda vm: {"name": vm.name, "host": vm.host}),
    ("F", "vm.force_off", "Force off", lambda vm: {"name": vm.name, "host": vm.host}),
]
