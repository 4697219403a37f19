"""Columns of the MLflow runs pane."""

from typing import Any

from screens.render import Column, attr


def metrics(item: Any) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in list(item.metrics.items())[:3]) or "-"


COLUMNS = [
    Column("RUN", lambda i: i.run_id[:8]),
    Column("NAME", attr("name")),
    Column("EXPERIMENT", attr("experiment")),
    Column("STATUS", attr("status")),
    Column("START", lambda i: (i.start_time or "-")[:19].replace("T", " ")),
    Column("DUR s", attr("duration_s")),
    Column("METRICS", metrics),
]
