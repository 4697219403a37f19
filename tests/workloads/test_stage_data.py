"""stage_data: digits written as IDX files the training workloads read; `present` checks a set."""

from __future__ import annotations

from workloads.common.image_data import load_mnist
from workloads.stage_data import main


def test_stage_digits_then_check_present(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["--out", str(out)]) == 0
    data = load_mnist(out)
    assert (len(data.train_y), len(data.test_y)) == (1437, 360) and data.train_x.shape[1:] == (1, 8, 8)
    assert set(data.train_y.tolist()) == set(range(10))
    assert main(["--source", "present", "--out", str(out)]) == 0
    assert "1437 train, 360 test images" in capsys.readouterr().out


def test_present_names_what_is_missing(tmp_path, capsys):
    assert main(["--source", "present", "--out", str(tmp_path / "nope")]) == 2
    assert "--out " in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--source", "present", "--out", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "--out " in err and "missing MNIST IDX files train-images-idx3-ubyte" in err
