"""Following MLflow client page tokens (the client path: other store kinds, writes)."""

from __future__ import annotations

from typing import Any, Callable


def paged(call: Callable[..., Any], limit: int | None = None, page_size: int = 1000, **kwargs: Any) -> list[Any]:
    """Follow MLflow page tokens until `limit` results or the last page."""
    out: list[Any] = []
    token = None
    while True:
        size = page_size if limit is None else min(page_size, limit - len(out))
        page = call(max_results=size, page_token=token, **kwargs)
        out.extend(page)
        token = page.token
        if not token or (limit is not None and len(out) >= limit):
            return out
