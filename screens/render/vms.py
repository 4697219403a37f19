"""Columns of the VMs pane."""

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
