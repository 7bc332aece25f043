"""Run region work on Dask: a local cluster, or an existing scheduler given its address.

Coverage is in :mod:`gridsvc.region.coverage`. The point join is dask-geopandas on
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
import time
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
from distributed import Client, LocalCluster, as_completed
from tqdm import tqdm

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


def region_cities(root: str | Path, only: list[str] | None) -> list[layout.CityEntry]:
    """Return the region's cities (or the ``only`` ones) as the manifest lists them."""
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


def timing(started: float) -> dict[str, float]:
    """Seconds since ``started`` and this process's peak memory (MiB), for a task's summary."""
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }


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
    cities = region_cities(root, only)
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
    cities = [city.code for city in region_cities(root, only)]
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
