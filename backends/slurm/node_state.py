"""Node states as sinfo prints them, from the base state and flags Slurm's JSON lists."""

from __future__ import annotations

# Slurm's node_states[] (src/common/slurm_protocol_defs.c): everything else in a state list is a flag.
NODE_BASE_STATES = ("IDLE", "MIXED", "ALLOCATED", "DOWN", "ERROR", "FUTURE", "UNKNOWN")
# The suffix node_state_string() adds for a flag, first match wins, in Slurm's order.
_STATE_SUFFIXES = (("MAINTENANCE", "$"), ("REBOOT_ISSUED", "^"), ("REBOOT_REQUESTED", "@"), ("POWERING_UP", "#"),
                   ("POWERING_DOWN", "%"), ("POWERED_DOWN", "~"), ("POWER_DOWN", "!"), ("NOT_RESPONDING", "*"))
# States Slurm names by a lone flag (the whole state word equals that flag, the base is UNKNOWN).
_LONE_FLAG_STATES = {"REBOOT_ISSUED": "reboot_issued", "REBOOT_CANCEL": "cancel_reboot", "CLOUD": "cloud",
                     "POWER_DOWN": "power_down", "POWER_UP": "power_up", "POWERING_DOWN": "powering_down",
                     "POWERED_DOWN": "powered_down", "POWERING_UP": "powering_up"}


def state_label(base: str, flags: tuple[str, ...]) -> str:
    """The node state as sinfo prints it (%T, lower-cased): Slurm's node_state_string() in
    src/common/slurm_protocol_defs.c (SchedMD/slurm at commit d43feafc, the version with the
    PLANNED, REBOOT_ISSUED and POWERING_* flags), applied to the base state and flags the JSON
    lists: IDLE+COMPLETING -> completing, IDLE+PLANNED -> planned, MIXED+DRAIN -> draining,
    IDLE+DRAIN -> drained, DOWN+NOT_RESPONDING -> down*, MIXED+PLANNED -> mixed-. The lower case
    is what `sinfo -N -o "%N %T"` printed on the 24.11 and 26.05 labs here."""
    f = set(flags)
    no_resp = "NOT_RESPONDING" in f
    busy = base in ("ALLOCATED", "MIXED")
    suffix = next((mark for flag, mark in _STATE_SUFFIXES if flag in f), "")
    if "INVALID_REG" in f:
        return "inval"
    if "MAINTENANCE" in f and not ("DRAIN" in f or busy or base == "DOWN"):
        return "maint*" if no_resp else "maint"
    if f & {"REBOOT_REQUESTED", "REBOOT_ISSUED"} and not busy:
        return "reboot^" if "REBOOT_ISSUED" in f else "reboot*" if no_resp else "reboot"
    if "DRAIN" in f:
        return ("draining" if "COMPLETING" in f or busy else "drained") + suffix
    if "FAIL" in f:
        return ("failing" if "COMPLETING" in f or base == "ALLOCATED" else "fail") + ("*" if no_resp else "")
    if base == "UNKNOWN" and len(f) == 1 and next(iter(f)) in _LONE_FLAG_STATES:
        return _LONE_FLAG_STATES[next(iter(f))]
    if base == "DOWN":
        return "down" + suffix
    if base == "ALLOCATED":
        return "allocated" + (suffix or ("+" if "COMPLETING" in f else ""))
    if "COMPLETING" in f:
        return "completing" + suffix
    if base == "IDLE":
        if suffix:
            return "idle" + suffix
        return "perfctrs" if "PERFCTRS" in f else "reserved" if "RESERVED" in f else "planned" if "PLANNED" in f else "idle"
    if base == "MIXED":
        return "mixed" + (suffix or ("-" if "PLANNED" in f else ""))
    if base == "FUTURE":
        return "future" + suffix
    if "RESUME" in f:
        return "resume"
    if base == "UNKNOWN":
        return "unknown*" if no_resp else "unknown"
    return base.lower() + suffix
