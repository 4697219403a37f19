"""The idle clock: a GPU is flagged only after staying allocated and under the threshold for the
policy's whole duration; any break restarts its clock."""

from __future__ import annotations

from cockpit.gpu_map import GpuMap, GpuUse, IdlePolicy
from cockpit.idle_clock import IdleClock, flagged

POLICY = IdlePolicy(below_pct=5, for_s=600)


def world(**util: int | None) -> GpuMap:
    return GpuMap(gpus=tuple(GpuUse(gpu=key, pci_address=key, jobs=("4",), utilization_pct=pct)
                             for key, pct in util.items()), links=(), policy=POLICY)


def test_flag_after_the_whole_duration_and_restart_on_a_break():
    clock = IdleClock()
    assert clock.observe(world(a=3, b=80), 0) == {"a": 0}
    assert clock.observe(world(a=2, b=1), 300) == {"a": 300, "b": 0}
    assert flagged(clock.observe(world(a=4, b=1), 600), POLICY.for_s) == {"a": 600}
    # a's reading goes over the threshold once: its clock starts again
    assert clock.observe(world(a=50, b=0), 700) == {"b": 400}
    assert clock.observe(world(a=1, b=0), 710) == {"a": 0, "b": 410}
    # no reading (None) is not idle; a GPU no job holds is not idle either
    assert clock.observe(world(a=None, b=0), 720) == {"b": 420}
    free = GpuMap(gpus=(GpuUse(gpu="b", pci_address="b", utilization_pct=0),), links=(), policy=POLICY)
    assert clock.observe(free, 730) == {}


def test_durations_never_negative_when_the_view_moves_back():
    clock = IdleClock()
    clock.observe(world(a=0), 1000)
    assert clock.durations(900) == {"a": 0.0}
