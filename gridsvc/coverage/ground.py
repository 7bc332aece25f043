"""Areas on the ground from areas in the metric CRS: one way for grids, districts and gaps.

A UTM zone is conformal, so an area in it is the ground's area times the projection's
areal scale, which changes by under 1e-6 across a grid: each grid's planar areas are
divided by the scale at its centroid (pyproj's factors). So the grids' ``area_m2`` is the
geodesic area, as districts' ``area_km2`` is (PostGIS on the geography), and the two agree.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Proj, Transformer


def areal_scale(geometries: np.ndarray, crs: str | None) -> np.ndarray:
    """Planar area per ground area at each geometry's centroid in ``crs`` (1 when None)."""
    if crs is None or not len(geometries):
        return np.ones(len(geometries))
    centre = shapely.get_coordinates(shapely.centroid(geometries))
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(centre[:, 0], centre[:, 1])
    return np.asarray(Proj(crs).get_factors(lon, lat).areal_scale, dtype=float)
