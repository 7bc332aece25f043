"""Point → grid lookups per second: PostGIS, a shapely STRtree and a geopandas sjoin, one run.

100,000 random points over the demo city's extent (half near where people live, half
uniform); every method must give the same grid for every point.
Run: .venv/bin/python bench/bench_locate.py [--points N]
"""

from __future__ import annotations

import argparse

import geopandas as gpd
import numpy as np
import shapely
from common import bench_database_url, database_version, ensure_demo_city, print_machine, timed
from sqlalchemy import create_engine, text

BULK_SQL = text(
    """
    SELECT DISTINCT ON (p.i) p.i, g.code
    FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[]))
         WITH ORDINALITY AS p(lon, lat, i)
    JOIN grids g ON g.valid_to IS NULL
     AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
    ORDER BY p.i, g.code
    """
)
ONE_SQL = text(
    "SELECT code FROM grids WHERE valid_to IS NULL AND "
    "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY code LIMIT 1"
)


def random_points(city, count: int, rng: np.random.Generator) -> np.ndarray:
    near_people = city.population.geometry.sample(count // 2, random_state=7)
    jitter = rng.normal(0, 0.002, size=(len(near_people), 2))
    near = np.column_stack([near_people.x, near_people.y]) + jitter
    minx, miny, maxx, maxy = city.districts.total_bounds
    uniform = rng.uniform([minx, miny], [maxx, maxy], size=(count - len(near), 2))
    return np.vstack([near, uniform])


def by_postgis(url: str, xy: np.ndarray) -> np.ndarray:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(BULK_SQL, {"lon": xy[:, 0].tolist(), "lat": xy[:, 1].tolist()})
        codes = np.full(len(xy), None, dtype=object)
        for index, code in found:
            codes[index - 1] = code
    engine.dispose()
    return codes


def by_postgis_one_at_a_time(url: str, xy: np.ndarray) -> np.ndarray:
    engine = create_engine(url)
    with engine.connect() as connection:
        codes = [connection.execute(ONE_SQL, {"lon": x, "lat": y}).scalar() for x, y in xy]
    engine.dispose()
    return np.array(codes, dtype=object)


def by_strtree(grids: gpd.GeoDataFrame, xy: np.ndarray) -> np.ndarray:
    points = shapely.points(xy)
    tree = shapely.STRtree(grids.geometry.values)
    point_index, grid_index = tree.query(points, predicate="intersects")
    codes = np.full(len(xy), None, dtype=object)
    grid_codes = grids["code"].to_numpy()
    # Lowest code wins on a shared edge, as in PostGIS: visit candidates in descending order.
    order = np.lexsort((-grid_codes[grid_index].astype(np.int64), point_index))
    codes[point_index[order]] = grid_codes[grid_index[order]]
    return codes


def by_sjoin(grids: gpd.GeoDataFrame, xy: np.ndarray) -> np.ndarray:
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326)
    joined = gpd.sjoin(points, grids[["code", "geometry"]], predicate="intersects", how="left")
    lowest = joined.sort_values("code").groupby(level=0)["code"].first()
    codes = lowest.reindex(range(len(xy)))
    return codes.astype(object).where(codes.notna(), None).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=100_000)
    arguments = parser.parse_args()
    print_machine(f"point → grid lookup, {arguments.points:,} points")
    url = bench_database_url()
    print(f"database: {database_version(url)}")
    city = ensure_demo_city(url)
    grids = city.grids[["code", "geometry"]].reset_index(drop=True)
    xy = random_points(city, arguments.points, np.random.default_rng(42))

    results, seconds = {}, {}
    with timed() as t:
        results["PostGIS (one query, GiST)"] = by_postgis(url, xy)
    seconds["PostGIS (one query, GiST)"] = t[0]
    single = min(2000, len(xy))
    with timed() as t:
        one_by_one = by_postgis_one_at_a_time(url, xy[:single])
    seconds_single = t[0]
    with timed() as t:
        results["shapely STRtree"] = by_strtree(grids, xy)
    seconds["shapely STRtree"] = t[0]
    with timed() as t:
        results["geopandas sjoin"] = by_sjoin(grids, xy)
    seconds["geopandas sjoin"] = t[0]

    reference = results["shapely STRtree"]
    for name, codes in results.items():
        agree = np.array_equal(codes.astype(str), reference.astype(str))
        assert agree, f"{name} disagrees with the STRtree"
    assert np.array_equal(one_by_one.astype(str), reference[:single].astype(str))
    inside = int(np.sum(reference != None))  # noqa: E711 - elementwise comparison
    print(f"points inside a grid: {inside:,} of {len(xy):,}; all methods agree")
    base = seconds["PostGIS (one query, GiST)"]
    for name, elapsed in seconds.items():
        print(
            f"{name:28s} {len(xy) / elapsed:12,.0f} points/s  ({elapsed:6.2f} s, "
            f"{base / elapsed:5.2f}× PostGIS bulk)"
        )
    print(
        f"{'PostGIS (one query a point)':28s} {single / seconds_single:12,.0f} points/s  "
        f"({single:,} points, {seconds_single:.2f} s)"
    )


if __name__ == "__main__":
    main()
