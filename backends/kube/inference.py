"""Send inference requests to a KServe endpoint and time them (the I/O half of the check)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import aiohttp


async def load(url: str, body: Any, *, requests: int, concurrency: int, timeout_s: float = 10.0,
               headers: dict[str, str] | None = None,
               progress: Callable[[str], None] = lambda m: None) -> tuple[list[float], int, float, str | None]:
    """(latencies in s of successful requests, error count, elapsed s, first error text)."""
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    counter = iter(range(requests))
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors, first_error
        for i in counter:
            t0 = time.perf_counter()
            try:
                async with session.post(url, json=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status >= 400:
                        raise RuntimeError(f"HTTP {resp.status} from {url}")
            except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError, OSError) as exc:
                errors += 1
                first_error = first_error or (str(exc) or type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - t0)
            if (i + 1) % max(1, requests // 5) == 0:
                progress(f"{i + 1}/{requests} requests sent")

    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(max(1, concurrency))))
    return latencies, errors, time.perf_counter() - started, first_error
