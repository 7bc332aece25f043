"""Garbage collection around bulk geometry work: the objects it keeps frozen, fewer passes.

Pure. A coverage refresh holds a whole city (tens of thousands of shapely geometries and
the frames around them) while it makes millions of short-lived objects; the collector
would walk the city again at every older-generation pass (3.5 s of a 43 s refresh of the
demo city). Frozen objects are also left untouched in forked workers, so their memory
pages stay shared instead of being copied.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations between young-generation passes while the city is frozen (CPython: 700).
YOUNG_THRESHOLD = 50_000

# Who holds the freeze, counted here: ``gc.get_freeze_count()`` walks every frozen object,
# which in a process that keeps a city is a long walk, so it is never asked.
_lock = threading.Lock()
_inside = 0  # objects_frozen blocks running now, in any thread
_thresholds = gc.get_threshold()  # as they were when the first of them began
_for_good = False  # freeze_long_lived was called: nothing unfreezes


@contextmanager
def objects_frozen() -> Iterator[None]:
    """Freeze every object alive now, and collect the young generation less often, until exit.

    Nested, beside another thread's, or in a process that froze its objects for good
    (:func:`freeze_long_lived`), it leaves the other freeze in place; the last one out
    unfreezes, so that garbage made before it is collected again.
    """
    global _inside, _thresholds
    with _lock:
        if _inside == 0:
            _thresholds = gc.get_threshold()
        _inside += 1
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, *_thresholds[1:])
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                gc.set_threshold(*_thresholds)
                if not _for_good:
                    gc.unfreeze()


def freeze_long_lived() -> None:
    """Freeze every object alive now, for good: a server's modules, routes and warm city.

    A full collection walks every object the collector tracks; in a server worker holding
    its imports and the warm city, that is 140-560 ms, several times a minute under load,
    and every request in flight waits for it. Frozen objects are left out of those passes.
    Call it once the server holds what it keeps (after start-up, after warming the city).
    """
    global _for_good
    with _lock:
        _for_good = True
        gc.freeze()
