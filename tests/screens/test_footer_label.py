"""Footer labels of row keys: short words, no dangling punctuation ("map: gpus," was shown)."""

from __future__ import annotations

import importlib

import pytest

from screens.source_table import footer_label


@pytest.mark.parametrize("label, shown", [
    ("map: GPUs, VMs, node, run", "map"),
    ("Model registry", "model registry"),
    ("Cancel job now", "cancel job"),
    ("Logs", "logs"),
])
def test_footer_label(label, shown):
    assert footer_label(label) == shown


@pytest.mark.parametrize("module", ["gpus", "slurm", "kubernetes", "vms", "mlflow"])
def test_every_row_screen_label_reads_cleanly_in_the_footer(module):
    render = importlib.import_module(f"screens.render.{module}")
    labels = [entry[2] if entry[1].startswith("screens.") else entry[1]
              for entry in (*getattr(render, "ROW_SCREENS", ()), *getattr(render, "PANE_SCREENS", ()))]
    for label in labels:
        shown = footer_label(label)
        assert shown and len(shown.split()) <= 2 and shown[-1].isalnum(), (label, shown)
