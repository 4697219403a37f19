"""train_classifier: a real CPU training run on digits and on IDX fixtures, logged to a real MLflow store."""

from __future__ import annotations

import json

import numpy as np

from workloads.common.idx import write_idx

LINK_TAGS = {"slurm_job_id": "4242", "plan": "mlops-validation", "plan_step": "mnist-single-gpu",
             "cockpit.source": "slurm"}


def test_digits_run_reaches_target_and_logs_everything(trained_classifier, mlflow_client):
    doc = trained_classifier["doc"]
    assert doc["status"] == "FINISHED"
    metrics = doc["metrics"]
    # Reached, not asserted into being: the accuracy comes from scoring 360 held-out digits.
    assert metrics["final_test_accuracy"] >= 0.95
    assert metrics["best_test_accuracy"] >= metrics["final_test_accuracy"]
    assert metrics["images_per_s"] > 0 and metrics["train_time_s"] > 0
    if metrics["target_reached"]:
        assert 0 < metrics["time_to_target_s"] <= metrics["wall_time_s"]
    assert doc["params"]["dataset"] == "digits" and doc["params"]["train_size"] == 1437

    run = mlflow_client.get_run(doc["mlflow"]["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "ci-digits"
    for key, value in LINK_TAGS.items():
        assert run.data.tags[key] == value
    assert run.data.params["dataset"] == "digits"
    assert run.data.metrics["final_test_accuracy"] == metrics["final_test_accuracy"]
    history = mlflow_client.get_metric_history(run.info.run_id, "test_accuracy")
    assert len(history) == int(metrics["epochs_run"])
    assert doc["mlflow"]["model_uri"].startswith("models:/")


def test_logged_model_predicts_like_the_reported_accuracy(trained_classifier, tracking_uri):
    import mlflow.pyfunc
    from sklearn.datasets import load_digits

    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(trained_classifier["doc"]["mlflow"]["model_uri"])
    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None]
    acc = float((np.asarray(model.predict(x)).argmax(1) == digits.target).mean())
    assert acc >= 0.95  # all 1797 digits (train + test) through the logged model, raw [0, 1] pixels


def _mnist_like(directory, rng, n_train=600, n_test=200, gz=False):
    """Synthetic 28x28 IDX files: each class is a bright square in its own cell of a 4x4 grid, plus noise."""
    def make(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            r, col = divmod(int(c), 4)
            images[i, 7 * r + 1:7 * r + 6, 7 * col + 1:7 * col + 6] = 255
        return images, labels

    sfx = ".gz" if gz else ""
    (tri, trl), (tei, tel) = make(n_train), make(n_test)
    write_idx(directory / f"train-images-idx3-ubyte{sfx}", tri)
    write_idx(directory / f"train-labels-idx1-ubyte{sfx}", trl)
    write_idx(directory / f"t10k-images-idx3-ubyte{sfx}", tei)
    write_idx(directory / f"t10k-labels-idx1-ubyte{sfx}", tel)


def test_mnist_idx_directory_is_read(tmp_path, run_wl):
    data = tmp_path / "mnist"
    data.mkdir()
    _mnist_like(data, np.random.default_rng(1), gz=True)
    out = tmp_path / "out"
    proc = run_wl("train_classifier", ["--data", str(data), "--no-mlflow", "--output-dir", str(out),
                                       "--epochs", "4", "--width", "8", "--batch-size", "32", "--target-accuracy", "0.9",
                                       "--require-target", "--bench"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["params"]["dataset"] == "mnist" and doc["params"]["image_shape"] == "1x28x28"
    assert doc["params"]["train_size"] == 600 and doc["params"]["test_size"] == 200
    assert doc["metrics"]["final_test_accuracy"] >= 0.9
    assert doc["mlflow"]["enabled"] is False and doc["mlflow"]["run_id"] is None
    assert "BENCH workload=train_classifier" in proc.stdout and "dataset=mnist" in proc.stdout


def test_bad_data_path_fails_clearly_before_any_run(tmp_path, run_wl, tracking_uri):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")
    proc = run_wl("train_classifier", ["--data", str(tmp_path), "--mlflow-uri", tracking_uri,
                                       "--experiment", "must-not-exist", "--output-dir", str(tmp_path / "o")])
    assert proc.returncode == 2
    assert "missing MNIST IDX files train-labels-idx1-ubyte" in proc.stderr
    assert not (tmp_path / "o" / "metrics.json").exists()
    from mlflow import MlflowClient

    assert MlflowClient(tracking_uri).get_experiment_by_name("must-not-exist") is None
    proc = run_wl("train_classifier", ["--epochs", "0"])
    assert proc.returncode == 2 and "--epochs must be >= 1" in proc.stderr
