"""screens/gc_tuning.py: thresholds raised (never lowered), start-up frozen once per process."""

from __future__ import annotations

import gc

import pytest

from screens import gc_tuning


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_thresholds_are_raised_from_the_defaults(thresholds) -> None:
    gc.set_threshold(700, 10, 10)
    gc_tuning.tune_for_latency()
    assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, gc_tuning.MIDDLE_THRESHOLD, gc_tuning.OLD_THRESHOLD)


def test_higher_thresholds_and_a_disabled_collector_are_left_alone(thresholds) -> None:
    gc.set_threshold(200_000, 50, 30)
    gc_tuning.tune_for_latency()
    assert gc.get_threshold() == (200_000, 50, 30)
    gc.set_threshold(0, 10, 10)  # 0: automatic collection off (set by whoever embeds the app)
    gc_tuning.tune_for_latency()
    assert gc.get_threshold() == (0, 10, 10)


def test_freeze_happens_once(monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(gc_tuning.gc, "freeze", lambda: calls.append(1))
    monkeypatch.setattr(gc_tuning, "_frozen", False)
    gc_tuning.freeze_startup()
    gc_tuning.freeze_startup()
    assert calls == [1]
