"""The lattice test city with resident points, and independent checks of proposed grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy.orm import Session

from gridsvc.common.postgis import copy_rows, hex_ewkb
from tests.factories import LatticeCity

#: Metric CRS of the test city (113.5°E: UTM zone 49N, as for Ordos).
UTM = "EPSG:32649"
#: Square metres of overlap, gap or overhang the import accepts (GRIDSVC_GRID_TOLERANCE_M2).
TOLERANCE_M2 = 10.0


@pytest.fixture
def resident_city(db_session: Session, city: LatticeCity) -> LatticeCity:
    """Each lattice grid's residents as points of 1 to 6 persons, strictly inside the grid."""
    rng = np.random.default_rng(16)
    points = []
    for grid in city.grids:
        west, south, east, north = grid.polygon.bounds
        margin_x, margin_y = (east - west) * 0.01, (north - south) * 0.01
        left = grid.population
        while left > 0:
            persons = int(min(left, rng.integers(1, 7)))
            lon = rng.uniform(west + margin_x, east - margin_x)
            lat = rng.uniform(south + margin_y, north - margin_y)
            points.append((persons, lon, lat))
            left -= persons
    persons, lon, lat = zip(*points, strict=True)
    rows = zip(persons, hex_ewkb(shapely.set_srid(shapely.points(lon, lat), 4326)), strict=True)
    copy_rows(db_session, "population_points", ["persons", "geom"], rows)
    db_session.commit()  # a savepoint: a refused request's rollback keeps the city
    return city


def resident_points(session: Session) -> gpd.GeoDataFrame:
    """Every resident point, read back from the database."""
    return gpd.read_postgis(
        "SELECT persons, geom FROM population_points", session.connection(), geom_col="geom"
    )


def shapes_of(collection: dict) -> list:
    """Shapely geometries of a FeatureCollection's features, in order."""
    return [shape(feature["geometry"]) for feature in collection["features"]]


def area_m2(geometry: object) -> float:
    """Area on the ground of a lon/lat geometry."""
    return float(gpd.GeoSeries([geometry], crs=4326).to_crs(UTM).area.iloc[0])


def tessellation_faults(grids: list, outline: object) -> dict[str, float]:
    """Overlap between grids, gap in and overhang out of the community, in m²."""
    overlap = sum(
        area_m2(shapely.intersection(a, b))
        for i, a in enumerate(grids)
        for b in grids[i + 1 :]
        if a.intersects(b)
    )
    union = shapely.union_all(grids)
    return {
        "overlap": overlap,
        "gap": area_m2(shapely.difference(outline, union)),
        "overhang": area_m2(shapely.difference(union, outline)),
    }
