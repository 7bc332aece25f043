"""Geometry shared by models and queries: EPSG:4326 columns, and degree bounds of metres."""

from __future__ import annotations

import math

from geoalchemy2 import Geometry

WGS84 = 4326
#: Metres in a degree of latitude (and of longitude at the equator), rounded down.
METRES_PER_DEGREE = 111_000.0


def geometry_column_type(kind: str) -> Geometry:
    """Return a PostGIS geometry type of ``kind`` in EPSG:4326 (GiST index declared apart)."""
    return Geometry(geometry_type=kind, srid=WGS84, spatial_index=False)


def within_metres(metres: float, lat: float) -> float:
    """Return a distance in degrees that holds every point within ``metres`` of latitude ``lat``.

    A degree of longitude is the shorter one; with 5 % to spare, ``ST_DWithin`` on the
    degrees lets the GiST index prefilter before the exact distance on the geography.
    """
    return metres / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01)) * 1.05
