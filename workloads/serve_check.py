"""Serving check (MLOPS-4.x): call a KServe v1 or v2 (Open Inference Protocol) endpoint and measure it.

    python -m workloads.serve_check --url http://$INGRESS --host-header digits.models.example.com \
        --model digits --protocol v2 --requests 500 --concurrency 8 --min-accuracy 0.95

Waits for the model to report ready, sends digits images (from scikit-learn, [0, 1] pixels shaped
batch x 1 x 8 x 8, the train_classifier input) or a request body from --payload-file, and reports
latency p50/p95/p99, requests/s and, for digits, the accuracy of the served predictions.
Exit status: 0 ok, 1 not ready / request errors / accuracy below --min-accuracy, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

WORKLOAD = "serve_check"


def build_parser() -> argparse.ArgumentParser:
    from workloads.common.cli import add_common_args

    p = argparse.ArgumentParser(prog="python -m workloads.serve_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="base URL of the predictor or ingress, e.g. http://10.0.0.5:8080")
    p.add_argument("--model", required=True, help="model name (the InferenceService name for KServe)")
    p.add_argument("--protocol", choices=("v1", "v2"), default="v1")
    p.add_argument("--host-header", default=None, help="Host header for an ingress, e.g. digits.models.example.com")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                   help="extra request header (repeatable; values are never logged)")
    p.add_argument("--requests", type=int, default=100, help="measured requests")
    p.add_argument("--warmup", type=int, default=5, help="requests sent first and not measured")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--batch", type=int, default=1, help="images per request")
    p.add_argument("--input-name", default="input-0", help="v2 input tensor name")
    p.add_argument("--payload-file", type=Path, default=None, help="JSON request body to send instead of digits")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--ready-timeout", type=float, default=60.0, help="seconds to wait for the model to be ready")
    p.add_argument("--min-accuracy", type=float, default=None, help="fail if served accuracy is lower (digits)")
    add_common_args(p, device=False)
    return p


@dataclass
class Payloads:
    bodies: list[dict]
    labels: list[list[int]] | None  # per body, when known


def digits_payloads(protocol: str, batch: int, count: int, input_name: str) -> Payloads:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype("float32") / 16.0)[:, None]
    labels = bunch.target.tolist()
    bodies, body_labels = [], []
    for i in range(count):
        idx = [(i * batch + j) % len(images) for j in range(batch)]
        x = images[idx]
        if protocol == "v1":
            body = {"instances": x.tolist()}
        else:
            body = {"inputs": [{"name": input_name, "shape": list(x.shape), "datatype": "FP32",
                                "data": x.reshape(-1).tolist()}]}
        bodies.append(body)
        body_labels.append([labels[k] for k in idx])
    return Payloads(bodies, body_labels)


def file_payloads(path: Path, count: int) -> Payloads:
    from workloads.common.device import WorkloadError

    try:
        body = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkloadError(f"--payload-file {path}: {exc}") from None
    if not isinstance(body, dict) or not ("instances" in body or "inputs" in body):
        raise WorkloadError(f'--payload-file {path}: expected a JSON object with "instances" (v1) or "inputs" (v2)')
    return Payloads([body] * count, None)


def predicted_classes(protocol: str, response: dict) -> list[int]:
    """Class ids from a v1 `predictions` or the first v2 output: argmax of scores, or ids as sent."""
    import numpy as np

    if protocol == "v1":
        preds = np.asarray(response["predictions"])
    else:
        out = response["outputs"][0]
        preds = np.asarray(out["data"]).reshape(out["shape"])
    if preds.ndim >= 2:
        return preds.reshape(preds.shape[0], -1).argmax(axis=1).astype(int).tolist()
    return preds.astype(int).tolist()


def endpoints(protocol: str, model: str) -> tuple[str, str]:
    if protocol == "v1":
        return f"/v1/models/{model}", f"/v1/models/{model}:predict"
    return f"/v2/models/{model}/ready", f"/v2/models/{model}/infer"


def wait_ready(client: Any, protocol: str, model: str, timeout: float) -> tuple[bool, str]:
    import httpx

    ready_path, _ = endpoints(protocol, model)
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            r = client.get(ready_path)
            if r.status_code == 200:
                if protocol == "v2":
                    return True, "ready"
                body = r.json()
                if body.get("ready") in (True, "True", "true"):
                    return True, "ready"
                last = f"ready={body.get('ready')!r}"
            else:
                last = f"HTTP {r.status_code}"
        except (httpx.HTTPError, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            return False, last
        time.sleep(0.5)


def percentile(values: list[float], q: float) -> float | None:
    import numpy as np

    return float(np.percentile(values, q)) if values else None


def main(argv: Sequence[str] | None = None) -> int:
    from workloads.common.cli import run_main

    return run_main("serve_check", _main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("requests", "concurrency", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1 (got {getattr(args, name)})")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0 (got {args.warmup})")
    headers = {}
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            parser.error(f"--header {name!r}: expected NAME:VALUE")
        headers[name.strip()] = value.strip()
    if args.host_header:
        headers["Host"] = args.host_header
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url {args.url!r}: expected http:// or https://")

    import httpx

    from workloads.common.cli import bench_line, resolve_outputs, tracker_for

    resolve_outputs(args, WORKLOAD)
    total = args.warmup + args.requests
    payloads = (file_payloads(args.payload_file, total) if args.payload_file
                else digits_payloads(args.protocol, args.batch, total, args.input_name))
    _, infer_path = endpoints(args.protocol, args.model)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)

    tracker = tracker_for(args, WORKLOAD)
    with tracker, httpx.Client(base_url=args.url, headers=headers, timeout=args.timeout, limits=limits) as client:
        tracker.log_params({
            "url": args.url, "model": args.model, "protocol": args.protocol, "host_header": args.host_header,
            "requests": args.requests, "warmup": args.warmup, "concurrency": args.concurrency,
            "batch": args.batch, "payload": str(args.payload_file) if args.payload_file else "digits",
        })
        ready, why = wait_ready(client, args.protocol, args.model, args.ready_timeout)
        tracker.log_metrics({"ready": 1.0 if ready else 0.0})
        if not ready:
            tracker.set_info(check="failed", problems=[f"model not ready after {args.ready_timeout}s: {why}"])
            print(f"serve_check: {args.model} at {args.url} not ready after {args.ready_timeout}s ({why})",
                  file=sys.stderr)
            return 1

        latencies: list[float] = []
        errors: list[str] = []
        correct = seen = 0
        lock = threading.Lock()

        def one(i: int) -> None:
            nonlocal correct, seen
            t0 = time.perf_counter()
            try:
                r = client.post(infer_path, json=payloads.bodies[i])
                elapsed = time.perf_counter() - t0
                if r.status_code != 200:
                    raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
                classes = predicted_classes(args.protocol, r.json()) if payloads.labels else None
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    if i >= args.warmup:
                        errors.append(f"{type(exc).__name__}: {exc}")
                return
            if i < args.warmup:
                return
            with lock:
                latencies.append(elapsed)
                if classes is not None and payloads.labels:
                    expected = payloads.labels[i]
                    if len(classes) != len(expected):
                        errors.append(f"{len(classes)} predictions for {len(expected)} inputs")
                        return
                    correct += sum(int(a == b) for a, b in zip(classes, expected))
                    seen += len(expected)

        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(one, range(args.warmup)))
            began = time.perf_counter()
            list(pool.map(one, range(args.warmup, total)))
            duration = time.perf_counter() - began

        ms = [1000 * v for v in latencies]
        summary = {
            "requests_ok": float(len(latencies)),
            "errors": float(len(errors)),
            "latency_p50_ms": percentile(ms, 50),
            "latency_p95_ms": percentile(ms, 95),
            "latency_p99_ms": percentile(ms, 99),
            "latency_mean_ms": sum(ms) / len(ms) if ms else None,
            "latency_max_ms": max(ms) if ms else None,
            "requests_per_s": len(latencies) / duration if duration else None,
            "samples_per_s": len(latencies) * args.batch / duration if duration else None,
            "accuracy": correct / seen if seen else None,
        }
        tracker.log_metrics(summary)
        problems = []
        if errors:
            problems.append(f"{len(errors)} failed requests, first: {errors[0]}")
        if args.min_accuracy is not None and (summary["accuracy"] is None or summary["accuracy"] < args.min_accuracy):
            problems.append(f"accuracy {summary['accuracy']} below --min-accuracy {args.min_accuracy}")
        tracker.set_info(check="failed" if problems else "passed", problems=problems)
        if args.bench:
            print(bench_line(WORKLOAD, {"protocol": args.protocol, "concurrency": args.concurrency,
                                        "batch": args.batch, **summary}))
    acc = f"; accuracy {summary['accuracy']:.4f}" if summary["accuracy"] is not None else ""
    print(f"{len(latencies)}/{args.requests} ok, p50 {summary['latency_p50_ms'] or 0:.2f} ms, "
          f"p95 {summary['latency_p95_ms'] or 0:.2f} ms, {summary['requests_per_s'] or 0:.1f} req/s{acc}; "
          f"metrics in {args.metrics_json}" + (f"; mlflow run {tracker.run_id}" if tracker.run_id else ""))
    for problem in problems:
        print(f"serve_check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
