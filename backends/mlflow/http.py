"""httpx, imported without its command-line client (see _skip_httpx_cli)."""

from __future__ import annotations

import sys


def _skip_httpx_cli() -> None:
    """Let `import httpx` skip its command-line client (`httpx._main`: click, rich, pygments; 0.1
    to 0.3 s of a fresh process here), which the cockpit never runs. httpx then defines the stub
    `main` it defines when the CLI extras are not installed (httpx/__init__.py; upstream:
    encode/httpx discussion #3523, PR #3547). Nothing changes if httpx is already imported."""
    if "httpx" in sys.modules:
        return
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "not importable"
    try:
        import httpx  # noqa: F401
    finally:
        if "httpx._main" in sys.modules and sys.modules["httpx._main"] is None:
            del sys.modules["httpx._main"]


_skip_httpx_cli()
import httpx  # noqa: E402

__all__ = ["httpx"]
