"""Region scale on Dask: coverage of N Ordos-sized cities and a point join, 1 and 2 workers.

For each size (cities) and each worker count, on a fresh local cluster:
- coverage: every circle in both modes for every city (one task per part of a city, each
  worker reading a city once); wall time, time per grid, worker-seconds per grid (the sum of
  the tasks' own times), peak resident memory of each worker; then the speed-up of each
  worker count over the fewest, and each size's time per grid over the smallest size's;
- join: ``--points`` points drawn where residents live, joined to the cities' grids with
  dask-geopandas (Hilbert shuffle, each city's cell index); wall time and peak worker memory;
and, once per size, geopandas' sjoin of the same points in this one process (the per-core
baseline); and first, as the anchor of the speed-up, one city's coverage in one plain
process and in two at once (no Dask), which is what two cores can give this work. The
cities come from the demo builder (seeds 20240601 + i) and are cached under ``--cache``
(built once; the builder's time per city is printed).

Run: .venv/bin/python bench/bench_region.py [--sizes 1,4,16] [--workers 1,2]
     [--points 10000000] [--join-sizes 1,4 (or "" for none)] [--cache .gridsvc/region-cache]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import pandas as pd

from bench.common import print_machine
from gridsvc.common import threads
from gridsvc.config import get_settings
from gridsvc.coverage.circles import load_circles
from gridsvc.region import coverage, driver, layout, partition
from gridsvc.region.synthetic import city_code

SEED = 20240601
GRIDS = 6702


def ensure_region(cache: Path, cities: int, grids: int) -> list[layout.CityEntry]:
    """Build the cities the cache lacks (2 workers); print the builder's time per city."""
    have = (
        {c.code for c in layout.read_manifest(cache)} if (cache / "region.json").exists() else set()
    )
    missing = [i for i in range(cities) if city_code(i) not in have]
    if missing:
        started = time.perf_counter()
        with driver.region_client(workers=2) as client:
            futures = [
                client.submit(driver.build_task, str(cache), i, SEED, grids, pure=False)
                for i in missing
            ]
            entries = driver.gather(futures, "building cities", True)
        for entry in entries:
            layout.add_to_manifest(cache, entry)
        per_city = [entry.extra["seconds"] for entry in entries]
        print(
            f"built {len(missing)} cities in {time.perf_counter() - started:.0f} s on 2 workers; "
            f"builder per city {min(per_city):.0f}-{max(per_city):.0f} s (one worker each)"
        )
    wanted = {city_code(i) for i in range(cities)}
    return [c for c in layout.read_manifest(cache) if c.code in wanted]


def load() -> str:
    """The machine's 1-minute load average: other work shares its cores."""
    return f"load {os.getloadavg()[0]:.1f}"


def worker_peaks(client) -> list[float]:
    return sorted(client.run(driver.peak_memory_mb).values())


def bench_coverage(cache: Path, out: Path, codes: list[str], workers: int) -> dict:
    circles = list(load_circles().values())
    buffer_m = get_settings().service_area_buffer_m
    with driver.region_client(workers=workers) as client:
        started = time.perf_counter()
        summaries = coverage.region_coverage(
            client, cache, out, circles, buffer_m, progress=False, only=codes
        )
        wall = time.perf_counter() - started
        peaks = worker_peaks(client)
    grids = sum(s["grids"] for s in summaries)
    task_s = sum(s["seconds"] for s in summaries)
    return {
        "wall_s": wall,
        "grids": grids,
        "ms_per_grid": 1000 * wall / grids,
        "task_ms_per_grid": 1000 * task_s / grids,
        "peak_mib": max(peaks),
        # Each city's own tasks per grid: is a city dearer in a larger region, or just dearer?
        "per_city": {s["city"]: 1000 * s["seconds"] / s["grids"] for s in summaries},
    }


def bench_join(cache: Path, points: Path, out: Path, codes: list[str], workers: int) -> dict:
    with driver.region_client(workers=workers) as client:
        partitions = max(2 * workers, len(codes) * 2)
        counts = driver.join_points(client, cache, points, out, partitions, False, only=codes)
        peaks = worker_peaks(client)
    return {"wall_s": counts["seconds"], "in_grids": counts["in_grids"], "peak_mib": max(peaks)}


def geopandas_join(cache: Path, points: Path, codes: list[str]) -> float:
    """One process: read everything, geopandas.sjoin (what the Dask join is held against)."""
    started = time.perf_counter()
    frame = gpd.read_parquet(points)
    grids = pd.concat(
        [
            gpd.read_parquet(layout.layer_path(cache, "grids", code)).to_crs(4326).assign(city=code)
            for code in codes
        ],
        ignore_index=True,
    )
    gpd.sjoin(frame, grids, predicate="intersects", how="inner")
    return time.perf_counter() - started


def _plain_city(cache: str, code: str, crs: str) -> float:
    """One city's coverage in this process, one geometry thread, no Dask: seconds."""
    circles = list(load_circles().values())
    with threads.geometry_threads(driver.TASK_THREADS):
        inputs = partition.layers_to_inputs(layout.read_city(cache, code))
        started = time.perf_counter()
        partition.city_coverage(inputs, circles, get_settings().service_area_buffer_m, crs)
    return time.perf_counter() - started


def machine_ceiling(cache: Path, city: layout.CityEntry) -> float:
    """What two cores give this work without Dask: the same city's coverage in one plain
    process, then in two at once; print both and return the ratio of throughputs."""
    context = multiprocessing.get_context("spawn")
    walls = []
    for count in (1, 2):
        with ProcessPoolExecutor(count, mp_context=context) as pool:
            same = [str(cache)] * count, [city.code] * count, [city.crs] * count
            walls.append(max(pool.map(_plain_city, *same)))
    ceiling = 2 * walls[0] / walls[1]
    print(
        f"anchor, {city.code} without Dask: one process {walls[0]:.1f} s; two at once "
        f"{walls[1]:.1f} s each; so two cores give at most {ceiling:.2f}x",
        flush=True,
    )
    return ceiling


def coverage_rows(arguments, cities, sizes: list[int], worker_counts: list[int]) -> dict:
    """Time coverage for every size and worker count, a row each; return the figures."""
    print(
        "size | workers | grids | residents | coverage wall s | ms/grid | worker-ms/grid | "
        "peak MiB/worker | load before → after"
    )
    figures = {}
    for size in sizes:
        codes = [c.code for c in cities[:size]]
        residents = sum(c.residents for c in cities[:size])
        for workers in worker_counts:
            out = arguments.scratch / f"coverage-{size}-{workers}"
            before = load()
            row = figures[size, workers] = bench_coverage(arguments.cache, out, codes, workers)
            print(
                f"{size} | {workers} | {row['grids']} | {residents:,} | {row['wall_s']:.1f} | "
                f"{row['ms_per_grid']:.2f} | {row['task_ms_per_grid']:.2f} | "
                f"{row['peak_mib']:.0f} | {before} → {load()}",
                flush=True,
            )
            cities_ms = ", ".join(f"{c} {v:.2f}" for c, v in sorted(row["per_city"].items()))
            print(f"    worker-ms/grid per city: {cities_ms}", flush=True)
    return figures


def print_ratios(figures: dict, sizes: list[int], worker_counts: list[int]) -> None:
    """Speed-up over the fewest workers (target ≥ 1.7× for 2 over 1), and time per grid
    against the smallest size (target within ±20 %)."""
    fewest, smallest = min(worker_counts, default=1), min(sizes, default=1)
    for size in sizes:
        for workers in worker_counts:
            if workers != fewest:
                ratio = figures[size, fewest]["wall_s"] / figures[size, workers]["wall_s"]
                print(f"speed-up, {size} cities: {workers} workers over {fewest}: {ratio:.2f}x")
    for workers in worker_counts:
        for size in sizes:
            if size != smallest:
                ratio = (
                    figures[size, workers]["ms_per_grid"]
                    / figures[smallest, workers]["ms_per_grid"]
                )
                print(
                    f"time per grid, {workers} workers: {size} cities over {smallest}: {ratio:.2f}x"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4", help="region sizes in cities, comma-separated")
    parser.add_argument("--workers", default="1,2", help="local workers to try, comma-separated")
    parser.add_argument("--points", type=int, default=10_000_000, help="points to join")
    parser.add_argument("--join-sizes", default="1,4", help="sizes to join at (empty: none)")
    parser.add_argument("--grids", type=int, default=GRIDS, help="grids per city")
    parser.add_argument(
        "--cache", type=Path, default=get_settings().home / "region-cache", help="built cities"
    )
    parser.add_argument(
        "--scratch", type=Path, default=Path("/tmp/gridsvc-bench-region"), help="results"
    )
    parser.add_argument(
        "--ceiling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="first time one city in one and in two plain processes (the machine's ceiling)",
    )
    arguments = parser.parse_args()
    sizes = [int(v) for v in arguments.sizes.split(",") if v]
    worker_counts = [int(v) for v in arguments.workers.split(",")]
    join_sizes = [int(v) for v in arguments.join_sizes.split(",") if v]
    print_machine("region scale on Dask (bench/bench_region.py)")
    cities = ensure_region(arguments.cache, max(sizes + join_sizes), arguments.grids)
    if arguments.ceiling and sizes:
        machine_ceiling(arguments.cache, cities[0])
    walls = coverage_rows(arguments, cities, sizes, worker_counts)
    print_ratios(walls, sizes, worker_counts)
    for size in join_sizes:
        codes = [c.code for c in cities[:size]]
        points = arguments.scratch / f"points-{size}-{arguments.points}"
        if not points.exists():
            with driver.region_client(workers=2) as client:
                driver.region_points(
                    client, arguments.cache, points, arguments.points, 1, False, codes
                )
        single = geopandas_join(arguments.cache, points, codes)
        print(f"join {size} cities, {arguments.points:,} points: geopandas sjoin {single:.1f} s")
        for workers in worker_counts:
            out = arguments.scratch / f"join-{size}-{workers}"
            figures = bench_join(arguments.cache, points, out, codes, workers)
            print(
                f"join {size} | {workers} workers | {figures['wall_s']:.1f} s | "
                f"{figures['in_grids']:,} in grids | peak {figures['peak_mib']:.0f} MiB/worker | "
                f"per core vs geopandas {single / (figures['wall_s'] * workers):.2f}x | {load()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
