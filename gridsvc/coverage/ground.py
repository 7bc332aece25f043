"""Areas on the ground from areas in a metric CRS, so coverage agrees with the grids API.

The grids API measures ``area_km2`` on the geography (geodesic); coverage measures in a
UTM zone, whose areas are the ground's times the projection's areal scale (up to about
0.2 % off within a zone). The scale changes by far less than 1e-6 across one grid, so a
grid's planar areas divided by the scale at its centroid are its areas on the ground.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Proj, Transformer


def areal_scales(geometries: np.ndarray, crs: str | None) -> np.ndarray:
    """Return the areal scale of ``crs`` at each geometry's centroid (ones for no CRS).

    Parameters
    ----------
    geometries
        Metric geometries in ``crs``.
    crs
        Their projected CRS (``EPSG:32649``...); None keeps planar areas (scale 1).
    """
    geometries = np.asarray(geometries, dtype=object)
    if crs is None or not len(geometries):
        return np.ones(len(geometries))
    centres = shapely.get_coordinates(shapely.centroid(geometries))
    to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(centres[:, 0], centres[:, 1])
    factors = Proj(CRS.from_user_input(crs)).get_factors(lon, lat)
    return np.asarray(factors.areal_scale, dtype=float).reshape(len(geometries))
