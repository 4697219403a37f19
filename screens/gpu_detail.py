"""GPU detail: the GPU table's detail text, plus utilisation over `cockpit.prometheus.history`
read back from Prometheus (a sparkline longer than the session) when one is configured.

Reads through the query seam only (runtime.query), in a worker: the screen opens at once and the
history line fills in (or says why it could not be read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Static

from cockpit.values import duration
from screens.modals import DetailScreen
from screens.render import gpus as render

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

HISTORY_POINTS = 60


def history_line(span_s: float, values: list[float]) -> str:
    """`history 6h  ▁▂▅…  (max 80%)` from Prometheus's 0..1 ratios."""
    pct = [v * 100 for v in values if v == v]  # NaN: no sample at that step
    if not pct:
        return f"history {duration(span_s)}  no samples in Prometheus"
    return f"history {duration(span_s)}  {render.sparkline(pct, HISTORY_POINTS)}  (max {max(pct):.0f}%)"


class GpuDetailScreen(DetailScreen):
    """DETAIL_SCREEN of the GPU table; takes (runtime, item) like every detail screen."""

    def __init__(self, runtime: "Runtime", item: Any) -> None:
        super().__init__(f"GPU {item.pci_address}", render.detail(item))
        self.runtime = runtime
        self.item = item

    def on_mount(self) -> None:
        if self.runtime.query.metric_history() is not None:
            self.run_worker(self._load_history(), exclusive=True)

    async def _load_history(self) -> None:
        reader = self.runtime.query.metric_history()
        if reader is None:
            return
        try:
            by_gpu = await self.runtime.query.gpu_utilisation_history(HISTORY_POINTS)
            line = history_line(reader.history_s, by_gpu.get(self.item.pci_address, []))
        except Exception as exc:  # the reader's errors say why (Prometheus's own message)
            line = f"history      not available: {exc}"
        self.query_one("#detail-body", Static).update(f"{render.detail(self.item)}\n{line}")
