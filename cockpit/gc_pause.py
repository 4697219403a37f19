"""The garbage collector around an interactive start-up, and its pauses afterwards.

Start-up (imports, config models, Textual's widgets) allocates hundreds of thousands of objects
and almost none become garbage, yet CPython's collector runs about 200 times over them meanwhile
(40 to 65 ms of CPU before the dashboard's first frame on the 2-core test VM). The TUI pauses it
from the command line to its first frame, then collects once and freezes what survived (modules,
classes, schemas and config: alive for the whole process), so later full collections walk only
what the screen made since.

Full collections are also made rarer (every 100 younger ones instead of CPython's 10): with the
defaults, 30 help screens opened over the dashboard ran 13 of them at 60 to 220 ms each, and
they were the slow keypresses over SSH.

Only a process that called `pause_for_startup` is touched: a library user of the cockpit package
(tests, the Python API) keeps its collector as it was.
"""

from __future__ import annotations

import gc

FULL_COLLECTION_EVERY = 100  # younger collections between two full ones (CPython: 10)

_paused = False


def pause_for_startup() -> None:
    """Turn the collector off until `resume` (the TUI: from its command line to its first frame)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def quieter_full_collections() -> None:
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, FULL_COLLECTION_EVERY)


def resume() -> bool:
    """After a paused start-up: collect its garbage once, freeze the survivors, turn the collector
    back on with rarer full collections. Returns False (and does nothing) when not paused."""
    global _paused
    if not _paused:
        return False
    _paused = False
    gc.collect()
    gc.freeze()
    quieter_full_collections()
    gc.enable()
    return True


def paused() -> bool:
    return _paused
