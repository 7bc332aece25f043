"""Garbage collection around bulk geometry work: the objects it keeps frozen, fewer passes.

Pure. A coverage refresh holds a whole city (tens of thousands of shapely geometries and
the frames around them) while it makes millions of short-lived objects; the collector
would walk the city again at every older-generation pass (3.5 s of a 43 s refresh of the
demo city). Frozen objects are also left untouched in forked workers, so their memory
pages stay shared instead of being copied.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations between young-generation passes while the city is frozen (CPython: 700).
YOUNG_THRESHOLD = 50_000


@contextmanager
def objects_frozen() -> Iterator[None]:
    """Freeze every object alive now, and collect the young generation less often, until exit.

    Nested or inside a process that froze its own objects, it leaves the outer freeze in
    place; the outermost one unfreezes, so that garbage made before it is collected again.
    """
    first = gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if first:
            gc.unfreeze()


def freeze_long_lived() -> None:
    """Freeze every object alive now, for good: a server's modules, routes and warm city.

    A full collection walks every object the collector tracks; in a server worker holding
    its imports and the warm city, that is 140-560 ms, several times a minute under load,
    and every request in flight waits for it. Frozen objects are left out of those passes.
    Call it once the server holds what it keeps (after start-up, after warming the city).
    """
    gc.freeze()
