"""Vectorised GEOS work spread over the cores in threads.

Pure. Shapely's vectorised calls (buffers, overlays, tree queries) release the GIL, so
slices of one array run at once in threads; a Dask task limits them to its own core.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

# How many threads :func:`in_threads` may use here; None: one per core. A Dask task sets 1,
# since its worker already runs one task per core it was given.
_THREADS: ContextVar[int | None] = ContextVar("geometry_threads", default=None)


@contextmanager
def geometry_threads(count: int) -> Iterator[None]:
    """Let :func:`in_threads` use at most ``count`` threads in this context."""
    token = _THREADS.set(max(1, count))
    try:
        yield
    finally:
        _THREADS.reset(token)


def in_threads(work: Callable[[np.ndarray], np.ndarray], count: int) -> np.ndarray:
    """Run ``work`` on slices of ``range(count)`` in threads and join the results.

    GEOS releases the GIL in shapely's vectorized calls, so buffers and overlays of many
    geometries use every core (or :func:`geometry_threads`' count).
    """
    workers = _THREADS.get() or os.cpu_count() or 1
    if workers == 1 or count < 64:
        return work(np.arange(count))
    chunks = [chunk for chunk in np.array_split(np.arange(count), workers * 4) if len(chunk)]
    with ThreadPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(work, chunks)))
