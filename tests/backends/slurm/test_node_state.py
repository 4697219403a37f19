"""Node state labels against Slurm's own node_state_string()."""

from __future__ import annotations

import pytest

from backends.slurm.node_state import state_label


# (base, flags, what sinfo prints): node_state_string() in src/common/slurm_protocol_defs.c, lower-cased
# as sinfo's long state column does.
@pytest.mark.parametrize("base, flags, label", [
    ("IDLE", (), "idle"), ("IDLE", ("COMPLETING",), "completing"), ("IDLE", ("PLANNED",), "planned"),
    ("IDLE", ("DRAIN",), "drained"), ("MIXED", ("DRAIN",), "draining"), ("ALLOCATED", ("DRAIN",), "draining"),
    ("IDLE", ("DRAIN", "COMPLETING"), "draining"), ("DOWN", ("DRAIN",), "drained"),
    ("DOWN", ("NOT_RESPONDING",), "down*"), ("IDLE", ("DRAIN", "NOT_RESPONDING"), "drained*"),
    ("IDLE", ("POWERED_DOWN",), "idle~"), ("IDLE", ("POWERING_UP",), "idle#"), ("IDLE", ("POWER_DOWN",), "idle!"),
    ("IDLE", ("POWERING_DOWN",), "idle%"), ("MIXED", ("PLANNED",), "mixed-"), ("ALLOCATED", ("COMPLETING",), "allocated+"),
    ("IDLE", ("MAINTENANCE",), "maint"), ("ALLOCATED", ("MAINTENANCE",), "allocated$"),
    ("IDLE", ("REBOOT_REQUESTED",), "reboot"), ("IDLE", ("REBOOT_ISSUED",), "reboot^"),
    ("MIXED", ("REBOOT_REQUESTED",), "mixed@"), ("IDLE", ("RESERVED",), "reserved"),
    ("IDLE", ("FAIL",), "fail"), ("ALLOCATED", ("FAIL",), "failing"), ("IDLE", ("INVALID_REG",), "inval"),
    ("UNKNOWN", ("NOT_RESPONDING",), "unknown*"), ("FUTURE", (), "future"), ("UNKNOWN", ("CLOUD",), "cloud"),
])
def test_node_state_labels_follow_slurm(base, flags, label):
    assert state_label(base, flags) == label
