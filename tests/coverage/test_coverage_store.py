"""What stored coverage writes: geometries as MultiPolygons, and their hex EWKB."""

from __future__ import annotations

import numpy as np
import shapely

from gridsvc.common.postgis import hex_ewkb
from gridsvc.coverage.store import as_multipolygons


def polygonal_parts_one_by_one(geometry) -> shapely.Geometry | None:
    """The same by hand: walk the parts, keep non-empty polygons."""
    if geometry is None:
        return None
    parts = [
        part
        for part in shapely.get_parts(geometry)
        if part.geom_type == "Polygon" and not part.is_empty
    ]
    return shapely.MultiPolygon(parts) if parts else None


def test_every_kind_of_geometry_keeps_its_polygons_and_only_them() -> None:
    square = shapely.box(0, 0, 10, 10)
    another = shapely.box(20, 0, 30, 10)
    geometries = np.array(
        [
            square,
            shapely.MultiPolygon([square, another]),
            shapely.Polygon(),
            shapely.MultiPolygon(),
            shapely.GeometryCollection([square, shapely.LineString([(0, 0), (5, 5)])]),
            shapely.GeometryCollection([shapely.Point(1, 1)]),
            shapely.LineString([(0, 0), (1, 1)]),
            shapely.GeometryCollection([another, shapely.Point(3, 3), square]),
            None,
        ],
        dtype=object,
    )
    result = as_multipolygons(geometries)
    expected = [polygonal_parts_one_by_one(geometry) for geometry in geometries]
    assert [value is None for value in result] == [value is None for value in expected]
    for got, wanted in zip(result, expected, strict=True):
        if wanted is not None:
            assert got.geom_type == "MultiPolygon"
            assert shapely.equals_exact(got, wanted, tolerance=0)


def test_many_buffers_equal_the_walk_by_hand() -> None:
    rng = np.random.default_rng(5)
    circles = shapely.buffer(shapely.points(rng.random((500, 2)) * 1000), 30)
    geometries = np.array(circles, dtype=object)
    geometries[::5] = shapely.Polygon()
    geometries[::7] = shapely.union_all(circles[:40])
    result = as_multipolygons(geometries)
    for got, geometry in zip(result, geometries, strict=True):
        wanted = polygonal_parts_one_by_one(geometry)
        assert (got is None) == (wanted is None)
        if wanted is not None:
            assert shapely.equals_exact(got, wanted, tolerance=0)


def test_hex_ewkb_is_what_geos_writes_with_the_srid() -> None:
    geometries = shapely.set_srid(
        shapely.buffer(shapely.points([(116.4, 39.9), (109.8, 39.6)]), 0.01), 4326
    )
    written = hex_ewkb(geometries)
    geos = shapely.to_wkb(geometries, hex=True, include_srid=True)
    assert written == [value.lower() for value in geos]
    back = shapely.from_wkb(written)
    assert list(shapely.get_srid(back)) == [4326, 4326]
    assert shapely.equals_exact(back, geometries, tolerance=0).all()
