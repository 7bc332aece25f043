"""Web Mercator tile arithmetic written out independently of PostGIS, for checking tiles."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import box

HALF_WORLD = 20037508.342789244


def tile_bounds_m(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:
    """Web Mercator metres of tile column x, row y at zoom z, grown by ``margin`` of its size."""
    size = 2 * HALF_WORLD / 2**z
    west, north = -HALF_WORLD + x * size, HALF_WORLD - y * size
    grow = margin * size
    return west - grow, north - size - grow, west + size + grow, north + grow


def to_mercator(lon: float, lat: float) -> tuple[float, float]:
    x = math.radians(lon) * 6378137.0
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
    return x, y


def mercator(geometry):
    """The geometry with every vertex in Web Mercator metres (spherical formula)."""

    def project(xy: np.ndarray) -> np.ndarray:
        lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
        return np.column_stack([lon * 6378137.0, np.log(np.tan(np.pi / 4 + lat / 2)) * 6378137.0])

    return shapely.transform(geometry, project)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Column and row of the tile holding lon/lat at zoom z."""
    x, y = to_mercator(lon, lat)
    size = 2 * HALF_WORLD / 2**z
    return int((x + HALF_WORLD) // size), int((HALF_WORLD - y) // size)


def tile_box(z: int, x: int, y: int, margin: float = 0.0):
    return box(*tile_bounds_m(z, x, y, margin))
