"""The garbage collector of an interactive cockpit: paused through start-up, then rare and cheap.

Start-up (imports, config models, Textual's widgets) allocates hundreds of thousands of objects
and almost none become garbage, yet CPython's collector runs about 200 times over them meanwhile
(40 to 65 ms of CPU before the dashboard's first frame on the 2-core test VM). The TUI and
serve-ssh pause it from the command line to the first frame (serve-ssh: to its first session),
then collect once and freeze what survived (modules, classes, schemas, config: alive for the
whole process), so later collections never walk it again. Only a process that paused it is
frozen: an SSH session's app ends before its server, and frozen, its cycles would never be freed.

Afterwards collections are made rarer (`tune_for_latency`): every 10,000-job SLURM refresh builds
hundreds of thousands of containers, and with CPython's thresholds (700, 10, 10) that set off
thousands of young collections and full ones over the whole heap, each holding the GIL: in the
keypress benchmark (benchmarks/keypress_latency.py) collections took 9 s of a 30 s run, full ones
155 ms at the median and up to 1.4 s, and they were the slowest frames; 30 help screens opened
over SSH ran 13 full collections of 60 to 220 ms. Cyclic garbage is still collected, in bigger
batches: at most YOUNG_THRESHOLD container allocations' worth waits for its collection.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython's default: 700)
MIDDLE_THRESHOLD = 20  # young collections per middle one (default 10)
OLD_THRESHOLD = 10  # middle collections per full one (default 10; CPython also waits for 25% growth)

_paused = False


def pause_for_startup() -> None:
    """Turn the collector off until `resume` (the TUI: from its command line to its first frame)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def tune_for_latency() -> None:
    """Raise the collection thresholds (never lowers ones already raised, e.g. by the embedder;
    a threshold of 0, automatic collection off, is left alone)."""
    young, middle, old = gc.get_threshold()
    if young and young < YOUNG_THRESHOLD:
        gc.set_threshold(YOUNG_THRESHOLD, max(middle, MIDDLE_THRESHOLD), max(old, OLD_THRESHOLD))


def resume() -> bool:
    """After a paused start-up: collect its garbage once, freeze the survivors, turn the collector
    back on with the thresholds of `tune_for_latency`. Returns False (and does nothing) when not
    paused, so it happens once per process."""
    global _paused
    if not _paused:
        return False
    _paused = False
    gc.collect()
    gc.freeze()
    tune_for_latency()
    gc.enable()
    return True


def paused() -> bool:
    return _paused
