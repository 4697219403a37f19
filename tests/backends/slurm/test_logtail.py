"""Reading the end of a job's output file once (for a failed plan step's error)."""

from __future__ import annotations

import pytest

from backends.slurm.logtail import TAIL_BYTES, read_tail


def test_read_tail_gives_the_last_lines_of_a_long_file(tmp_path):
    out = tmp_path / "job-7.out"
    lines = [f"epoch {n} loss {1 / (n + 1):.4f}" for n in range(5000)]
    out.write_text("\n".join(lines) + "\nTraceback (most recent call last):\nModuleNotFoundError: No module named 'torch'\n")
    assert out.stat().st_size > TAIL_BYTES
    assert read_tail(str(out), 3).splitlines() == ["epoch 4999 loss 0.0002", "Traceback (most recent call last):",
                                                   "ModuleNotFoundError: No module named 'torch'"]


def test_read_tail_of_a_missing_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        read_tail(str(tmp_path / "never-written.out"))
