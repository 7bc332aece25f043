"""Geometry column types shared by the models: EPSG:4326, with explicit GiST indexes."""

from __future__ import annotations

from geoalchemy2 import Geometry

WGS84 = 4326


def geometry_column_type(kind: str) -> Geometry:
    """Return a PostGIS geometry type of ``kind`` in EPSG:4326 (GiST index declared apart)."""
    return Geometry(geometry_type=kind, srid=WGS84, spatial_index=False)
