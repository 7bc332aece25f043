"""Run region work on Dask: a local cluster, or an existing scheduler given its address.

Coverage is one task per part of a city (a district, or a run of its communities when it
is large: :func:`gridsvc.region.partition.city_parts`), each on the sub-city that decides its
figures (the part's grids and residents, and the facilities and network within reach of
them). Each worker reads a city's layers on its first part of it and keeps them; a part
writes its own results, and a city's are published once its parts are all written. The
point join is dask-geopandas on
spatially partitioned frames: points grouped by place (shuffled by Hilbert order unless
each partition already meets one city only), each partition located in the cell index
(:mod:`gridsvc.common.cell_index`) of the cities its bounds meet, one index per city built
once on the workers; a point is then answered in one task, ties on shared edges and
between cities included.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import shapely
from dask import delayed
from distributed import Client, LocalCluster, as_completed, get_worker
from tqdm import tqdm

from gridsvc.config import get_settings
from gridsvc.coverage import analysis, reach
from gridsvc.coverage.circles import Circle
from gridsvc.region import layout, partition
from gridsvc.region.synthetic import city_code, synthetic_city

WGS84 = "EPSG:4326"
GRID_COLUMNS = ["code", "district_code", "geometry"]
# Threads a coverage task's GEOS work may use: a worker thread runs one task at a time, so
# more would make tasks of the same worker (and of the machine's other workers) compete.
TASK_THREADS = 1


@contextmanager
def region_client(
    scheduler: str = "", workers: int = 0, memory_limit: str = "auto", echo: Callable = print
) -> Iterator[Client]:
    """Connect to ``scheduler``, or start a local cluster of ``workers`` (0: one per core).

    The dashboard's address is echoed. Local workers are processes with one thread each,
    and each task's geometry work runs in that one thread (:data:`TASK_THREADS`): a worker
    is one core, so that n workers use n cores.
    """
    # The shuffle plugin logs every shuffle's start and end as a warning.
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address="127.0.0.1:0",
        )
        client = Client(cluster)
    try:
        count = len(client.scheduler_info(n_workers=-1)["workers"])
        where = scheduler or "a local cluster"
        echo(f"Dask on {where}: {count} workers; dashboard {client.dashboard_link}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def gather(futures: list, description: str, progress: bool) -> list:
    """Results of ``futures`` in submission order, with a progress bar as they finish."""
    bar = tqdm(total=len(futures), desc=description, disable=not progress, file=sys.stderr)
    for _ in as_completed(futures):
        bar.update(1)
    bar.close()
    return [future.result() for future in futures]


def _cities(root: str | Path, only: list[str] | None) -> list[layout.CityEntry]:
    return [city for city in layout.read_manifest(root) if only is None or city.code in only]


def peak_memory_mb() -> float:
    """Peak resident memory of this (worker) process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_task(root: str, index: int, seed: int, grids: int) -> layout.CityEntry:
    """Build synthetic city ``index`` and write its layers (runs on a worker)."""
    started = time.perf_counter()
    layers, crs = synthetic_city(index, seed, grids)
    code = city_code(index)
    layout.write_city(root, code, layers)
    return layout.CityEntry(
        code=code,
        name=f"demo city {index} (seed {seed + index})",
        crs=crs,
        source=f"demo seed {seed + index}, {grids} grids",
        grids=len(layers.grids),
        residents=int(layers.population["persons"].sum()),
        extra={"seconds": round(time.perf_counter() - started, 2)},
    )


def build_region(
    client: Client, root: str | Path, cities: int, seed: int, grids: int, progress: bool = True
) -> list[layout.CityEntry]:
    """Build ``cities`` demo cities into the region at ``root``, one task per city.

    Cities of other codes already in the region are kept.
    """
    futures = [
        client.submit(build_task, str(root), index, seed, grids, pure=False)
        for index in range(cities)
    ]
    entries = gather(futures, "building cities", progress)
    for entry in entries:  # cities already there (an exported one, say) stay
        layout.add_to_manifest(root, entry)
    return entries


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

    Each worker reads a city itself on its first part of it, rather than receiving the
    inputs from the worker that read them: a read costs about what a transfer does, and
    every worker can start at once. ``keep``: how many cities the process keeps.
    """
    key = _city_key(root, city)
    with _READING:  # one read at a time: two threads of a worker wanting one city share it
        if key in _READ:
            _READ.move_to_end(key)
            return _READ[key], 0.0
        started = time.perf_counter()
        with reach.geometry_threads(TASK_THREADS):
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
    threads = _worker_threads()
    inputs, read_s = city_inputs(root, city.code, keep=threads)
    with reach.geometry_threads(TASK_THREADS):
        result = partition.part_coverage(inputs, part.communities, circles, buffer_m, city.crs)
    result.to_parquet(
        layout.coverage_part_path(out, city.code, number), index=False, compression="zstd"
    )
    return {
        "grids": part.grids,
        "rows": len(result),
        "read_s": read_s,
        **_timing(started),
    }


def _worker_threads() -> int:
    try:
        return get_worker().state.nthreads
    except ValueError:  # not on a worker
        return 1


def _timing(started: float) -> dict[str, float]:
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }


def city_parts(root: str | Path, city: str, most: int) -> list[partition.Part]:
    """Return the city's parts of about ``most`` grids, largest first."""
    columns = ["district_code", "community_code"]
    table = pq.read_table(layout.layer_path(root, "grids", city), columns=columns)
    return partition.city_parts(table.to_pandas(), most)


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

    Every circle of ``circles`` in both modes. Each part (about ``part_grids`` grids at
    most; default: the settings') is computed on its sub-city
    (:func:`gridsvc.coverage.inputs.part_inputs`) by whichever worker is free, which reads
    the city itself the first time, and written at once to the city's staging folder; a
    city's results are published when its last part is written. Cities go largest first
    and a city's parts largest first, so that a small task ends the run and a worker needs
    about one city at a time. Returns one summary per city, largest first.
    """
    most = part_grids or get_settings().region_part_grids
    cities = sorted(_cities(root, only), key=lambda city: -city.grids)
    tasks = []
    for city in cities:
        layout.start_coverage(out, city.code)
        parts = city_parts(root, city.code, most)
        tasks.extend((city, number, part) for number, part in enumerate(parts))
    # No part depends on another task, so the scheduler hands them out in this order as
    # workers free up (the first submitted first).
    futures = {
        client.submit(
            part_task,
            (str(root), str(out)),
            city,
            number,
            part,
            circles,
            buffer_m,
            priority=len(tasks) - order,
            pure=False,
        ): city.code
        for order, (city, number, part) in enumerate(tasks)
    }
    waiting = {city.code: sum(1 for task in tasks if task[0] is city) for city in cities}
    done: dict[str, list] = {city.code: [] for city in cities}
    for code in [code for code, count in waiting.items() if count == 0]:
        layout.publish_coverage(out, code)  # a city without grids: nothing to wait for
    bar = tqdm(total=len(tasks), desc="coverage per part", disable=not progress, file=sys.stderr)
    try:
        for future in as_completed(list(futures)):
            code = futures.pop(future)
            done[code].append(future.result())
            waiting[code] -= 1
            if waiting[code] == 0:
                layout.publish_coverage(out, code)
            bar.update(1)
    finally:
        bar.close()
        client.run(forget_cities)
    return [_summary(city, done[city.code]) for city in cities]


def points_task(root: str, out: str, city: layout.CityEntry, count: int, seed: int, first: int):
    """Draw ``count`` points where city's residents live, in EPSG:4326 (runs on a worker)."""
    population = gpd.read_parquet(layout.layer_path(root, "population", city.code))
    points = partition.sample_points(population, count, seed).to_crs(WGS84)
    points.insert(0, "point_id", range(first, first + len(points)))
    path = Path(out) / f"part.{city.code}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    points.to_parquet(path, index=False, compression="zstd")
    return len(points)


def region_points(
    client: Client,
    root: str | Path,
    out: str | Path,
    count: int,
    seed: int,
    progress: bool = True,
    only: list[str] | None = None,
) -> int:
    """Write ``count`` synthetic report points over the region, spread by residents."""
    cities = _cities(root, only)
    total = sum(city.residents for city in cities) or 1
    counts = [count * city.residents // total for city in cities]
    counts[0] += count - sum(counts)
    firsts = [sum(counts[:i]) for i in range(len(counts))]
    futures = [
        client.submit(points_task, str(root), str(out), city, n, seed + i, first, pure=False)
        for i, (city, n, first) in enumerate(zip(cities, counts, firsts, strict=True))
    ]
    return sum(gather(futures, "points per city", progress))


def _city_index(root: str, city: str) -> partition.CityGrids:
    """Read a city's grids in EPSG:4326 and index them (runs on a worker, once per join)."""
    grids = gpd.read_parquet(layout.layer_path(root, "grids", city), columns=GRID_COLUMNS)
    return partition.city_grids(city, grids.to_crs(WGS84))


def _index_bounds(grids: partition.CityGrids) -> tuple[float, float, float, float]:
    return grids.index.bounds


def _extent(points: gpd.GeoDataFrame) -> tuple[int, float, float, float, float]:
    """Rows and bounds of one partition of points (NaN bounds when empty)."""
    if len(points) == 0:
        return (0, np.nan, np.nan, np.nan, np.nan)
    return (len(points), *(float(v) for v in points.total_bounds))


def _placed_points(client: Client, frame, partitions: int, boxes: np.ndarray):
    """Hold the points in memory, in partitions that each meet as few cities as they can.

    Points already grouped by place (one city to a partition, as ``region points`` writes
    them) are only split; otherwise they are shuffled by Hilbert order first. Returns the
    frame and, per partition, its rows and bounds.
    """
    frame = frame.persist()
    extents = np.array(
        client.gather(client.compute([delayed(_extent)(p) for p in frame.to_delayed()]))
    )
    meets = shapely.intersects(shapely.box(*extents[:, 1:].T)[:, None], boxes[None, :])
    if (meets.sum(axis=1) > 1).any():
        frame = frame.spatial_shuffle(
            by="hilbert", npartitions=partitions, calculate_partitions=False
        ).persist()
    elif partitions > frame.npartitions:
        frame = frame.repartition(npartitions=partitions).persist()
    else:
        return frame, extents
    extents = client.gather(client.compute([delayed(_extent)(p) for p in frame.to_delayed()]))
    return frame, np.array(extents)


def join_points(
    client: Client,
    root: str | Path,
    points: str | Path,
    out: str | Path,
    partitions: int | None = None,
    progress: bool = True,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Join points (GeoParquet, EPSG:4326, with ``point_id``) to the region's grids.

    Writes ``point_id``, ``city``, ``grid_code`` and ``district_code`` of every point inside
    a grid to ``out/joined`` (Parquet); a point on an edge shared by grids (or where cities
    meet) goes to the lowest city and grid code. Returns the counts.
    """
    started = time.perf_counter()
    # A partition per row group (pyarrow writes a million rows to one): read in parallel.
    frame = dask_geopandas.read_parquet(
        str(points), columns=["point_id", "geometry"], split_row_groups=True
    )
    cities = [city.code for city in _cities(root, only)]
    # One index per city, built on the workers and kept there for every partition.
    indexes = client.compute([delayed(_city_index)(str(root), city) for city in cities])
    boxes = shapely.box(*np.array(client.gather(client.map(_index_bounds, indexes))).T)
    wanted = partitions or max(len(client.scheduler_info(n_workers=-1)["workers"]), 1)
    frame, extents = _placed_points(client, frame, wanted, boxes)
    hulls = shapely.box(*extents[:, 1:].T)
    parts = [
        delayed(partition.locate_points)(
            part, [indexes[k] for k in np.flatnonzero(shapely.intersects(boxes, hull))]
        )
        for part, hull in zip(frame.to_delayed(), hulls, strict=True)
    ]
    meta = partition.locate_points(
        gpd.GeoDataFrame({"point_id": np.zeros(0, np.int64)}, geometry=[], crs=WGS84), []
    )
    target = Path(out) / "joined"
    task = dd.from_delayed(parts, meta=meta).to_parquet(str(target), compute=False)
    gather([client.compute(task)], "joining points", progress)
    matched = pq.ParquetDataset(str(target)).read(columns=["point_id"]).num_rows
    total = int(extents[:, 0].sum())
    return {
        "points": total,
        "in_grids": matched,
        "outside": total - matched,
        "seconds": round(time.perf_counter() - started, 2),
    }
