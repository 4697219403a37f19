"""Garbage-collector settings for a screen that must answer keys while big snapshots churn.

Every SLURM refresh of 10,000 jobs decodes and builds hundreds of thousands of containers. With
CPython's default thresholds (700, 10, 10) that set off thousands of young collections and, as the
new objects outlive them, full collections over the whole heap, each holding the GIL: in the
keypress benchmark (benchmarks/keypress_latency.py, loaded 2-core VM) collections took 9 s of
a 30 s run (start-up included), full ones 155 ms at the median and up to 1.4 s, and the slowest
frames were spent in them.
A larger young generation makes collections rare (a few per refresh instead of thousands), and
freezing what start-up built (modules, classes, the widget tree) keeps it out of every later full
collection. Cyclic garbage still gets collected, only in bigger batches: at most YOUNG_THRESHOLD
container allocations' worth waits for its collection."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython's default: 700)
MIDDLE_THRESHOLD = 20  # young collections per middle one (default 10)
OLD_THRESHOLD = 10  # middle collections per full one (default 10; CPython also waits for 25% growth)


def tune_for_latency() -> None:
    """Raise the collection thresholds (never lowers ones already raised, e.g. by the embedder)."""
    young, middle, old = gc.get_threshold()
    if young and young < YOUNG_THRESHOLD:
        gc.set_threshold(YOUNG_THRESHOLD, max(middle, MIDDLE_THRESHOLD), max(old, OLD_THRESHOLD))


_frozen = False


def freeze_startup() -> None:
    """Move everything alive now (imports, the app and its widgets) out of later collections;
    once per process: a later call (the next SSH viewer, the next test) would also freeze the
    uncollected garbage of the sessions before it for good. No collection first: that would be
    a full pause of its own, and start-up leaves little cyclic garbage."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
