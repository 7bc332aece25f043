"""Routing agrees with an independent shapely computation over thousands of points."""

from __future__ import annotations

import random

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Point

from gridsvc.grids import placing as grid_placing
from tests.factories import ORIGIN, STEP_LAT, STEP_LON

SNAP_M = 50.0
TO_UTM = Transformer.from_crs(4326, 32649, always_xy=True).transform


def to_utm(geometry):
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_UTM(xy[:, 0], xy[:, 1])))


def sample_points(seed: int = 4) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    columns, rows = 6, 5
    margin_lon, margin_lat = 120 / 90_600, 120 / 111_000  # ~120 m around the city
    points = []
    west, south = ORIGIN
    east, north = west + columns * STEP_LON, south + rows * STEP_LAT
    for _ in range(2000):  # anywhere, including just outside
        points.append(
            (rng.uniform(west - margin_lon, east + margin_lon),
             rng.uniform(south - margin_lat, north + margin_lat))
        )  # fmt: skip
    for c in range(columns + 1):  # every vertex of the lattice
        for r in range(rows + 1):
            points.append((west + c * STEP_LON, south + r * STEP_LAT))
    for _ in range(600):  # exactly on shared vertical and horizontal edges
        c, r = rng.randint(0, columns), rng.randint(0, rows)
        k = rng.randint(1, 255) / 256  # binary fractions stay exact
        points.append((west + c * STEP_LON, south + (r + k) * STEP_LAT))
        points.append((west + (c + k) * STEP_LON, south + r * STEP_LAT))
    return points


def test_routing_matches_bruteforce(db_session, city) -> None:
    utm_grids = {grid.code: to_utm(grid.polygon) for grid in city.grids}
    checked_nearest = 0
    points = sample_points()
    for lon, lat in points:
        placement = grid_placing.place_point(db_session, lon, lat, SNAP_M)
        containing = city.containing(Point(lon, lat))
        if containing:
            assert placement is not None and placement["routing"] == "inside"
            assert placement["grid_code"] == containing[0], (lon, lat)
            continue
        here = Point(TO_UTM(lon, lat))
        distances = {code: polygon.distance(here) for code, polygon in utm_grids.items()}
        nearest = min(distances.values())
        if abs(nearest - SNAP_M) < 1.0:
            continue  # UTM and the geography differ by well under a metre here
        if nearest > SNAP_M:
            assert placement is None, (lon, lat, nearest)
            continue
        assert placement is not None and placement["routing"] == "nearest"
        assert abs(placement["distance_m"] - nearest) < 0.5
        assert distances[placement["grid_code"]] <= nearest + 0.5
        checked_nearest += 1
    assert checked_nearest > 50


def test_bulk_routing_agrees_with_single_points(db_session, city) -> None:
    points = sample_points(seed=11)[:1500]
    codes = grid_placing.grid_codes_for_points(
        db_session, [p[0] for p in points], [p[1] for p in points]
    )
    expected = [(city.containing(Point(lon, lat)) or [None])[0] for lon, lat in points]
    assert codes == expected
