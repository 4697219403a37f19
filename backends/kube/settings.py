"""The `cockpit.kubernetes` settings of the kubernetes source (validated with the rest of the config)."""

from __future__ import annotations

from cockpit.source_types import Settings


class KubeSettings(Settings):
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None  # None: all namespaces
