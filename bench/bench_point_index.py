"""Bulk point → grid: the cell index against geopandas sjoin and a shapely STRtree.

For the demo city (6,702 grids) and 4× (four demo cities of the region cache, about 26,800
grids), ``--points`` points where residents live (drawn by persons, moved up to 30 m) plus
a tenth uniform over the extent, all in EPSG:4326 as stored:
- geopandas sjoin (predicate intersects; its index build included, the issue's anchor);
- shapely STRtree, build and query (the path ``containing_index`` takes for few points);
- the cell index: build printed apart, then the query, and the ratio to both;
and the answers compared point by point (the lowest index on shared edges, as everywhere).

Run: .venv/bin/python bench/bench_point_index.py [--points 1000000] [--sizes 1,4]
     [--cache .gridsvc/region-cache]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bench.common import print_machine
from gridsvc.common.cell_index import CellIndex
from gridsvc.config import get_settings
from gridsvc.region import layout
from gridsvc.region.synthetic import city_code

SEED = 20240601


def region_grids(cache: Path, cities: int) -> tuple[np.ndarray, np.ndarray]:
    """Grids of the first ``cities`` cities in code order, EPSG:4326, and their residents."""
    grids, residents = [], []
    for index in range(cities):
        code = city_code(index)
        frame = gpd.read_parquet(layout.layer_path(cache, "grids", code))
        grids.append(frame.sort_values("code").to_crs(4326).geometry.to_numpy())
        population = gpd.read_parquet(layout.layer_path(cache, "population", code))
        residents.append(population.to_crs(4326))
    return np.concatenate(grids), pd.concat(residents, ignore_index=True)


def draw_points(grids: np.ndarray, residents: gpd.GeoDataFrame, count: int) -> np.ndarray:
    """Residents-like points (nine in ten) and uniform ones over the extent, shape (n, 2)."""
    rng = np.random.default_rng(SEED)
    persons = residents["persons"].to_numpy(np.float64)
    near = count - count // 10
    rows = rng.choice(len(persons), size=near, p=persons / persons.sum())
    xy = shapely.get_coordinates(residents.geometry.to_numpy())[rows]
    # About 30 m in degrees at these latitudes.
    xy = xy + rng.uniform(-1, 1, size=xy.shape) * np.array([0.00035, 0.00027])
    xmin, ymin, xmax, ymax = shapely.total_bounds(grids)
    uniform = rng.uniform([xmin, ymin], [xmax, ymax], size=(count // 10, 2))
    return np.vstack([xy, uniform])


def lowest(point_index: np.ndarray, grid_index: np.ndarray, count: int) -> np.ndarray:
    """The lowest grid index per point from (point, grid) pairs; -1 for none."""
    result = np.full(count, -1, dtype=np.int64)
    order = np.lexsort((grid_index, point_index))
    point_index, grid_index = point_index[order], grid_index[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = point_index[1:] != point_index[:-1]
    result[point_index[first]] = grid_index[first]
    return result


def seconds(work) -> tuple[float, object]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def bench_size(cache: Path, cities: int, count: int) -> None:
    grids, residents = region_grids(cache, cities)
    xy = draw_points(grids, residents, count)
    points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=4326)
    frame = gpd.GeoDataFrame(geometry=grids, crs=4326)
    load = os.getloadavg()[0]
    sjoin_s, joined = seconds(lambda: gpd.sjoin(points, frame, predicate="intersects"))
    by_sjoin = lowest(joined.index.to_numpy(), joined["index_right"].to_numpy(), count)

    def tree_query():
        tree = shapely.STRtree(grids)
        return tree.query(points.geometry.to_numpy(), predicate="intersects")

    tree_s, pairs = seconds(tree_query)
    by_tree = lowest(pairs[0], pairs[1], count)
    build_s, index = seconds(lambda: CellIndex.build(grids))
    query_s, by_cells = seconds(lambda: index.locate(xy[:, 0], xy[:, 1]))
    same = (by_cells == by_tree).all() and (by_cells == by_sjoin).all()
    inside = int((by_cells >= 0).sum())
    print(
        f"{cities} cities | {len(grids):,} grids | {count:,} points ({inside:,} in grids) | "
        f"load {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(f"  geopandas sjoin (build included) {sjoin_s:7.2f} s  {count / sjoin_s:12,.0f} points/s")
    print(f"  shapely STRtree (build included) {tree_s:7.2f} s  {count / tree_s:12,.0f} points/s")
    print(f"  cell index build                 {build_s:7.2f} s  {index.figures()}")
    print(f"  cell index query                 {query_s:7.2f} s  {count / query_s:12,.0f} points/s")
    print(
        f"  query vs sjoin {sjoin_s / query_s:.1f}x, vs STRtree {tree_s / query_s:.1f}x; "
        f"build + query vs sjoin {sjoin_s / (build_s + query_s):.1f}x; "
        f"answers equal to sjoin and STRtree on every point: {same}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--sizes", default="1,4", help="cities of the region cache, e.g. 1,4")
    parser.add_argument("--cache", type=Path, default=get_settings().home / "region-cache")
    arguments = parser.parse_args()
    print_machine("bulk point -> grid: cell index (bench/bench_point_index.py)")
    for cities in (int(v) for v in arguments.sizes.split(",") if v):
        bench_size(arguments.cache, cities, arguments.points)


if __name__ == "__main__":
    main()
