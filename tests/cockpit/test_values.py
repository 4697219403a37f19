"""Value sort keys, unit parsers and human renderings (cockpit/values.py)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from cockpit.values import (
    duration, job_id_key, natural, parse_duration, parse_size, plain, size, sort_key, when,
)


def test_job_ids_sort_numerically_with_array_tasks_beside_their_job() -> None:
    shown = ["100", "41_3", "41_[4-9%2]", "9", "41", "41_10", "41_0", "7+0", "7+1"]
    assert sorted(shown, key=job_id_key) == ["7+0", "7+1", "9", "41", "41_0", "41_3", "41_10", "41_[4-9%2]", "100"]
    assert job_id_key(None) > job_id_key("999999")  # missing last


@pytest.mark.parametrize("text, seconds", [
    ("10:00", 600), ("1:00:00", 3600), ("1-01:00:00", 90000), ("2-0", 172800), ("365-00:00:00", 31536000),
    ("45", 45), ("90s", 90), ("2h", 7200), ("1d 3h", 97200), ("1h30m", 5400), ("UNLIMITED", math.inf),
])
def test_durations_as_slurm_and_people_write_them(text, seconds) -> None:
    assert parse_duration(text) == seconds


def test_slurm_durations_sort_by_value_not_text() -> None:
    texts = ["1-01:00:00", "10:00", "9:59", "2:00:00", "UNLIMITED"]
    assert sorted(texts, key=parse_duration) == ["9:59", "10:00", "2:00:00", "1-01:00:00", "UNLIMITED"]
    assert sorted(texts) != sorted(texts, key=parse_duration)  # the rendered text would be wrong


@pytest.mark.parametrize("text, n", [("512", 512), ("10K", 10240), ("1.5GiB", 1.5 * 2**30), ("3TB", 3e12),
                                     ("100M", 100 * 2**20), ("2 MiB", 2 * 2**20)])
def test_sizes_with_units(text, n) -> None:
    assert parse_size(text) == n


@pytest.mark.parametrize("bad, parse", [("soon", parse_duration), ("1:2:3:4", parse_duration), ("ten", parse_size)])
def test_bad_values_say_what_would_work(bad, parse) -> None:
    with pytest.raises(ValueError, match=repr(bad)):
        parse(bad)


def test_mixed_values_sort_numbers_then_text_then_missing() -> None:
    values = [None, "node10", 3, "node2", 1.5, "", datetime(2026, 1, 1, tzinfo=timezone.utc)]
    ordered = sorted(values, key=sort_key)
    assert ordered[:2] == [1.5, 3] and ordered[3:5] == ["node2", "node10"] and ordered[5:] == [None, ""]
    assert sorted(["node10", "node2", "Node1"], key=natural) == ["Node1", "node2", "node10"]


def test_human_renderings() -> None:
    assert duration(97200) == "1d 3h" and duration(31536000) == "365 days" and duration(303) == "5m 3s"
    assert duration(None) == "-" and duration(math.inf) == "UNLIMITED" and duration(45) == "45s"
    assert size(1536) == "1.5 KiB" and size(None) == "-"
    now = datetime(2026, 11, 29, 16, 0, tzinfo=timezone.utc)
    text = when(now - timedelta(minutes=3, seconds=2), now)
    assert text.endswith("(3m 2s ago)") and text[:4] == "2026"
    assert when(None) == "-" and plain(None) == "-" and plain(True) == "yes" and plain(["a", "b"]) == "a, b"
