"""Region coverage on Dask: one task per part of a city, handed to workers as they free up.

A part is a district, or a run of its communities when it is large
(:func:`gridsvc.region.partition.city_parts`); its task computes it on the sub-city that
decides its figures (the part's grids and residents, and the facilities and network
within reach of them) and writes its own results. A worker reads a city's layers on its
first part of it and keeps them, so the client gives a freed worker another part of the
city it holds while there is one (:class:`PartQueue`): each city is read about once, and
only the last parts of the run are shared between workers. A city's results are published
once its parts are all written.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from distributed import Client, as_completed, get_worker
from tqdm import tqdm

from gridsvc.common import threads
from gridsvc.config import get_settings
from gridsvc.coverage import analysis
from gridsvc.coverage.circles import Circle
from gridsvc.region import layout, partition
from gridsvc.region.driver import TASK_THREADS, region_cities, timing

# The cities' coverage inputs this worker process has read, newest last; a worker keeps as
# many as it has threads, so that each of its tasks finds its city's.
_READ: OrderedDict[tuple, analysis.CityInputs] = OrderedDict()
_READING = threading.Lock()


def _city_key(root: str, city: str) -> tuple:
    """Return the key of the city's inputs: its layer files as they are now.

    A city rebuilt since (on a cluster that outlives a run) is then read again.
    """
    files = [layout.layer_path(root, layer, city) for layer in layout.LAYERS]
    return (root, city, *((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))


def city_inputs(root: str, city: str, keep: int = 1) -> tuple[analysis.CityInputs, float]:
    """Return the city's coverage inputs and the seconds spent reading them (0: kept).

    Each worker reads a city itself rather than receiving the inputs from the worker that
    read them: a read costs about what a transfer does, and every worker can start at
    once. ``keep``: how many cities the process keeps.
    """
    key = _city_key(root, city)
    with _READING:  # one read at a time: two threads of a worker wanting one city share it
        if key in _READ:
            _READ.move_to_end(key)
            return _READ[key], 0.0
        started = time.perf_counter()
        with threads.geometry_threads(TASK_THREADS):
            inputs = partition.layers_to_inputs(layout.read_city(root, city))
        _READ[key] = inputs
        while len(_READ) > max(keep, 1):
            _READ.popitem(last=False)
        return inputs, time.perf_counter() - started


def forget_cities() -> int:
    """Let go of the cities this worker process keeps; returns how many it kept."""
    with _READING:
        count = len(_READ)
        _READ.clear()
    return count


def part_task(
    paths: tuple[str, str],
    city: layout.CityEntry,
    number: int,
    part: partition.Part,
    circles: list[Circle],
    buffer_m: float,
) -> dict[str, Any]:
    """Compute one part's coverage on its sub-city and write it (runs on a worker).

    Returns its grids, rows, the seconds spent reading the city (0 if the worker had it)
    and in all, and the worker's peak memory so far.
    """
    started = time.perf_counter()
    root, out = paths
    inputs, read_s = city_inputs(root, city.code, keep=_worker_threads())
    with threads.geometry_threads(TASK_THREADS):
        result = partition.part_coverage(inputs, part.communities, circles, buffer_m, city.crs)
    path = layout.coverage_part_path(out, city.code, number)
    result.to_parquet(path, index=False, compression="zstd")
    return {"grids": part.grids, "rows": len(result), "read_s": read_s, **timing(started)}


def _worker_threads() -> int:
    try:
        return get_worker().state.nthreads
    except ValueError:  # not on a worker
        return 1


def city_parts(root: str | Path, city: str, most: int) -> list[partition.Part]:
    """Return the city's parts of about ``most`` grids, largest first."""
    columns = ["district_code", "community_code"]
    table = pq.read_table(layout.layer_path(root, "grids", city), columns=columns)
    return partition.city_parts(table.to_pandas(), most)


@dataclass
class PartQueue:
    """Which part a freed worker takes next: pure bookkeeping, no Dask.

    ``parts`` maps each city to its parts' sizes (grids), largest first. A worker goes on
    with the city it holds while that has parts left; otherwise it starts the largest city
    nobody works on, or, when every city left is started, joins the one with the most
    grids left per worker on it (the run's end, where workers share cities).
    """

    parts: dict[str, list[int]]
    taken: dict[str, int] = field(default_factory=dict)
    on: dict[str, int] = field(default_factory=dict)  # workers on each city

    def left(self, city: str) -> int:
        """Return the grids of the city's parts not yet taken."""
        return sum(self.parts[city][self.taken.get(city, 0) :])

    def take(self, holding: str | None) -> tuple[str, int] | None:
        """Return the city and number of the next part for a worker holding ``holding``."""
        cities = [city for city in self.parts if self.left(city) > 0]
        if not cities:
            return None
        if holding not in cities:
            fresh = [city for city in cities if not self.on.get(city)]
            pool = fresh or cities
            city = max(pool, key=lambda c: (self.left(c) / (self.on.get(c, 0) + 1), -pool.index(c)))
            if holding is not None:
                self.on[holding] = self.on.get(holding, 1) - 1
            self.on[city] = self.on.get(city, 0) + 1
        else:
            city = holding
        number = self.taken.get(city, 0)
        self.taken[city] = number + 1
        return city, number


def _summary(city: layout.CityEntry, done: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "city": city.code,
        "grids": sum(part["grids"] for part in done),
        "rows": sum(part["rows"] for part in done),
        "parts": len(done),
        "read_s": round(sum(part["read_s"] for part in done), 2),
        "seconds": round(sum(part["seconds"] for part in done), 2),
        "peak_memory_mb": max((part["peak_memory_mb"] for part in done), default=0.0),
    }


def _start(root: str | Path, out: str | Path, cities: list[layout.CityEntry], most: int) -> dict:
    """Return each city's parts, its results' staging made (a city without grids published)."""
    parts = {city.code: city_parts(root, city.code, most) for city in cities}
    for code, split in parts.items():
        layout.start_coverage(out, code)
        if not split:
            layout.publish_coverage(out, code)  # nothing to wait for
    return parts


@dataclass
class _Submitter:
    """Submits to a worker the part :class:`PartQueue` gives it, pinned but movable."""

    client: Client
    paths: tuple[str, str]
    by_code: dict[str, layout.CityEntry]
    parts: dict[str, list[partition.Part]]
    queue: PartQueue
    work: tuple[list[Circle], float]
    pending: as_completed = field(default_factory=as_completed)
    running: dict = field(default_factory=dict)  # future: (worker, city)

    def __call__(self, worker: str, holding: str | None) -> None:
        chosen = self.queue.take(holding)
        if chosen is None:
            return
        code, number = chosen
        future = self.client.submit(
            part_task,
            self.paths,
            self.by_code[code],
            number,
            self.parts[code][number],
            *self.work,
            workers=[worker],
            allow_other_workers=True,  # should the worker leave, another takes the part
            pure=False,
        )
        self.running[future] = (worker, code)
        self.pending.add(future)


def region_coverage(
    client: Client,
    root: str | Path,
    out: str | Path,
    circles: list[Circle],
    buffer_m: float,
    progress: bool = True,
    only: list[str] | None = None,
    part_grids: int | None = None,
) -> list[dict[str, Any]]:
    """Compute every city's (or the ``only`` cities') coverage, one task per part.

    Every circle of ``circles`` in both modes; parts of about ``part_grids`` grids at most
    (default: the settings'). Each worker thread has one part at a time, chosen by
    :class:`PartQueue` when it frees up. Returns one summary per city, largest first.
    """
    most = part_grids or get_settings().region_part_grids
    cities = sorted(region_cities(root, only), key=lambda city: -city.grids)
    parts = _start(root, out, cities, most)
    queue = PartQueue({code: [part.grids for part in p] for code, p in parts.items()})
    by_code = {city.code: city for city in cities}
    submit = _Submitter(client, (str(root), str(out)), by_code, parts, queue, (circles, buffer_m))
    for address, worker in sorted(client.scheduler_info(n_workers=-1)["workers"].items()):
        for _ in range(worker.get("nthreads", 1)):
            submit(address, None)
    done: dict[str, list] = {city.code: [] for city in cities}
    total = sum(map(len, parts.values()))
    bar = tqdm(total=total, desc="coverage per part", disable=not progress, file=sys.stderr)
    try:
        for future in submit.pending:
            worker, code = submit.running.pop(future)
            done[code].append(future.result())
            if len(done[code]) == len(parts[code]):
                layout.publish_coverage(out, code)
            bar.update(1)
            submit(worker, code)
    finally:
        bar.close()
        client.run(forget_cities)
    return [_summary(city, done[city.code]) for city in cities]
