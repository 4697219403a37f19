"""serve_check against a KServe-protocol server that serves the model train_classifier logged."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_serve_check_measures_latency_and_accuracy(protocol, tmp_path, run_wl, served_classifier, tracking_uri,
                                                   mlflow_client):
    out = tmp_path / "out"
    before = served_classifier.requests
    proc = run_wl("serve_check", ["--url", served_classifier.url, "--model", "digits", "--protocol", protocol,
                                  "--requests", "40", "--warmup", "2", "--concurrency", "4", "--batch", "8",
                                  "--min-accuracy", "0.9", "--mlflow-uri", tracking_uri, "--output-dir", str(out),
                                  "--header", "Authorization: Bearer s3cr3t-token"],
                  {"COCKPIT_PLAN": "demo", "COCKPIT_PLAN_STEP": f"serve-{protocol}"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert served_classifier.requests - before == 42
    doc = json.loads((out / "metrics.json").read_text())
    m = doc["metrics"]
    assert m["requests_ok"] == 40 and m["errors"] == 0
    assert 0 < m["latency_p50_ms"] <= m["latency_p95_ms"] <= m["latency_p99_ms"] <= m["latency_max_ms"]
    assert m["requests_per_s"] > 0 and m["samples_per_s"] == pytest.approx(8 * m["requests_per_s"])
    assert m["accuracy"] >= 0.9  # the trained model's answers, scored against digits labels
    assert doc["info"]["check"] == "passed"
    assert "s3cr3t" not in (out / "metrics.json").read_text() and "s3cr3t" not in proc.stdout + proc.stderr
    run = mlflow_client.get_run(doc["mlflow"]["run_id"])
    assert run.data.tags["plan_step"] == f"serve-{protocol}"
    assert run.data.metrics["latency_p95_ms"] == m["latency_p95_ms"]


def test_unknown_model_is_not_ready(tmp_path, run_wl, served_classifier):
    out = tmp_path / "out"
    proc = run_wl("serve_check", ["--url", served_classifier.url, "--model", "nope", "--protocol", "v2",
                                  "--ready-timeout", "1", "--no-mlflow", "--output-dir", str(out)])
    assert proc.returncode == 1 and "not ready" in proc.stderr and "HTTP 404" in proc.stderr
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["metrics"]["ready"] == 0.0 and doc["info"]["check"] == "failed"


def test_accuracy_floor_fails_the_check(tmp_path, run_wl, served_classifier):
    out = tmp_path / "out"
    proc = run_wl("serve_check", ["--url", served_classifier.url, "--model", "digits", "--requests", "5",
                                  "--min-accuracy", "1.01", "--no-mlflow", "--output-dir", str(out)])
    assert proc.returncode == 1 and "below --min-accuracy" in proc.stderr


def test_bad_arguments(run_wl):
    proc = run_wl("serve_check", ["--url", "localhost:8080", "--model", "m"])
    assert proc.returncode == 2 and "expected http:// or https://" in proc.stderr
