"""cockpit.gc_pause: the collector is off from the TUI's command line to its first frame, then back
with start-up's survivors frozen and rarer full collections; nothing changes for a process that
never paused it."""

from __future__ import annotations

import gc

import pytest

from cockpit import gc_pause


@pytest.fixture
def restore_gc():
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.enable() if enabled else gc.disable()
    gc_pause._paused = False


def test_resume_without_a_pause_changes_nothing(restore_gc):
    before = gc.get_threshold()
    assert gc_pause.resume() is False
    assert gc.isenabled() and gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_pause_then_resume_collects_freezes_and_spaces_full_collections(restore_gc):
    gc.set_threshold(700, 10, 10)
    gen1 = 10
    gc_pause.pause_for_startup()
    assert not gc.isenabled() and gc_pause.paused()

    class Cycle:
        pass

    made = Cycle()
    made.me = made  # garbage only a collection can free
    del made
    assert any(type(o) is Cycle for o in gc.get_objects())

    assert gc_pause.resume() is True
    assert gc.isenabled() and not gc_pause.paused()
    assert gc.get_threshold() == (gc_pause.YOUNG_THRESHOLD, max(gen1, gc_pause.MIDDLE_THRESHOLD),
                                  gc_pause.OLD_THRESHOLD)
    assert gc.get_freeze_count() > 0
    assert not any(type(o) is Cycle for o in gc.get_objects())  # collected before the freeze
    assert gc_pause.resume() is False  # once only


def test_pause_leaves_a_disabled_collector_to_its_owner(restore_gc):
    gc.disable()
    gc_pause.pause_for_startup()
    assert gc_pause.resume() is False and not gc.isenabled()


def test_thresholds_are_raised_from_the_defaults(restore_gc) -> None:
    gc.set_threshold(700, 10, 10)
    gc_pause.tune_for_latency()
    assert gc.get_threshold() == (gc_pause.YOUNG_THRESHOLD, gc_pause.MIDDLE_THRESHOLD, gc_pause.OLD_THRESHOLD)


def test_higher_thresholds_and_automatic_collection_off_are_left_alone(restore_gc) -> None:
    gc.set_threshold(200_000, 50, 30)
    gc_pause.tune_for_latency()
    assert gc.get_threshold() == (200_000, 50, 30)
    gc.set_threshold(0, 10, 10)  # 0: automatic collection off (set by whoever embeds the app)
    gc_pause.tune_for_latency()
    assert gc.get_threshold() == (0, 10, 10)
