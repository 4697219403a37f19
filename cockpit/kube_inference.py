"""Inference-check arithmetic and KServe request shapes (pure).

Targets come from the seeds (MLOPS-4.x, GPU model inference): p95 latency under 500 ms and more
than 50 requests per second per GPU.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

P95_TARGET_MS = 500.0
RPS_PER_GPU_TARGET = 50.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100): the value at or below which q% of samples fall."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(latencies_s: Sequence[float], errors: int, elapsed_s: float, gpus: int) -> dict[str, Any]:
    ok = len(latencies_s)
    p50 = percentile(latencies_s, 50)
    p95 = percentile(latencies_s, 95)
    rps = ok / elapsed_s if elapsed_s > 0 else 0.0
    per_gpu = rps / gpus if gpus else None
    checks = {"p95_ms_below_500": p95 is not None and p95 * 1000 < P95_TARGET_MS}
    if gpus:
        checks["req_per_s_per_gpu_above_50"] = per_gpu is not None and per_gpu > RPS_PER_GPU_TARGET
    verdict = "pass" if ok and not errors and all(checks.values()) else "fail"
    out = {
        "requests": ok + errors, "ok": ok, "errors": errors,
        "p50_ms": round(p50 * 1000, 2) if p50 is not None else None,
        "p95_ms": round(p95 * 1000, 2) if p95 is not None else None,
        "req_per_s": round(rps, 2), "gpus": gpus,
        "req_per_s_per_gpu": round(per_gpu, 2) if per_gpu is not None else None,
        "targets": {"p95_ms": P95_TARGET_MS, **({"req_per_s_per_gpu": RPS_PER_GPU_TARGET} if gpus else {})},
        "checks": checks, "verdict": verdict,
    }
    out["summary"] = describe(out)
    return out


def describe(r: dict[str, Any]) -> str:
    parts = [f"{r['ok']}/{r['requests']} ok", f"p50 {r['p50_ms']} ms", f"p95 {r['p95_ms']} ms (target < 500)",
             f"{r['req_per_s']} req/s"]
    if r["gpus"]:
        parts.append(f"{r['req_per_s_per_gpu']} req/s per GPU (target > 50)")
    return f"{r['verdict'].upper()}: " + ", ".join(parts)


def _filled(shape: Sequence[int], value: float) -> Any:
    """A nested list of `shape` holding `value` (a v1 instance batch)."""
    if not shape:
        return value
    return [_filled(shape[1:], value) for _ in range(shape[0])]


def request_for(protocol: str, model: str, base_url: str, payload: Any | None = None,
                shape: Sequence[int] | None = None) -> tuple[str, Any]:
    """(URL, JSON body) of one inference request in KServe's v1 or v2 (open inference) protocol.
    `shape` makes an FP32 input of that shape (0.5 everywhere, e.g. [1, 1, 28, 28] for an MNIST
    classifier whose signature checks the shape); without it a 4-feature row."""
    base = base_url.rstrip("/")
    if protocol == "v2":
        if payload is None and shape:
            payload = {"inputs": [{"name": "input-0", "shape": list(shape), "datatype": "FP32",
                                   "data": [0.5] * math.prod(shape)}]}
        body = payload if payload is not None else {
            "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [[0.1, 0.2, 0.3, 0.4]]}]}
        return f"{base}/v2/models/{model}/infer", body
    if payload is None and shape:
        payload = {"instances": _filled(shape, 0.5)}
    body = payload if payload is not None else {"instances": [[0.1, 0.2, 0.3, 0.4]]}
    return f"{base}/v1/models/{model}:predict", body
