"""GPU counts from Slurm's TRES request strings, in every spelling."""

from __future__ import annotations

import pytest

from backends.slurm.gres import gpus_requested


@pytest.mark.parametrize("request_, gpus", [
    ("gres:gpu:2", 2), ("gres/gpu:2", 2), ("gres/gpu=2", 2), ("gres/gpu:a100:2", 2), ("gres/gpu:a100=2", 2),
    ("cpu=2,gres/gpu=1", 1), ("gres/gpu:a100=2,gres/gpu:v100=1", 3), ("gres/gpu", 1), ("gres/gpumem=4G", None),
    ("cpu=2", None), ("", None),
])
def test_gpu_requests_in_every_spelling(request_, gpus):
    assert gpus_requested(request_) == gpus
