"""Coverage's areas are on the ground: each grid's ``area_m2`` is PostGIS's geodesic area."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridsvc.coverage import analysis, gaps, ground, store
from gridsvc.coverage import service as coverage_service
from tests.factories import DISTRICT_CODE, LatticeCity, make_facility, make_facility_type

GEODESIC_AREAS = text(
    "SELECT g.code, ST_Area(g.geom::geography) FROM grids g"
    " JOIN communities c ON c.id = g.community_id JOIN streets s ON s.id = c.street_id"
    " JOIN districts d ON d.id = s.district_id"
    " WHERE g.valid_to IS NULL AND d.code = :district ORDER BY g.code"
)


def test_the_areal_scale_turns_planar_areas_into_geodesic_ones() -> None:
    square = box(113.5, 35.5, 113.52, 35.52)
    planar = shapely.transform(
        np.array([square]), lambda xy: np.column_stack(_to_utm49(xy)), include_z=False
    )
    ground_area = shapely.area(planar) / ground.areal_scales(planar, "EPSG:32649")
    geodesic = abs(Geod(ellps="WGS84").geometry_area_perimeter(square)[0])
    assert ground_area[0] == pytest.approx(geodesic, rel=1e-7)
    assert ground.areal_scales(planar, None).tolist() == [1.0]


def _to_utm49(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    return Transformer.from_crs(4326, 32649, always_xy=True).transform(xy[:, 0], xy[:, 1])


def test_coverage_areas_are_geodesic_and_shares_unchanged(
    db_session: Session, city: LatticeCity
) -> None:
    make_facility_type(db_session, "ground_test", "测试站", "test station")
    west, south, _, _ = city.district_polygon.bounds
    make_facility(db_session, "ground_test", west + 0.01, south + 0.01)
    circle = coverage_service.resolve_circle(db_session, None, ["ground_test"], 1000.0)
    result = coverage_service.grid_coverage(db_session, circle, "euclidean", DISTRICT_CODE)
    table = result.table.set_index("code")
    geodesic = dict(db_session.execute(GEODESIC_AREAS, {"district": DISTRICT_CODE}).all())
    assert sorted(table.index) == sorted(geodesic)
    expected = np.array([geodesic[code] for code in table.index])
    assert table["area_m2"].to_numpy() == pytest.approx(expected, rel=1e-6)

    # The shares as planar areas give them: computed apart, in the metric CRS.
    inputs = store.load_inputs(db_session, DISTRICT_CODE)
    facilities = inputs.facility_xy[inputs.facilities_of(("ground_test",))]
    parts, width = analysis.coverage_parts(inputs, facilities, "euclidean", 1000.0, 0.0)
    shapes = inputs.grids["geometry"].to_numpy()
    covered = gaps.cut(shapes, parts, width, analysis.circle_quad_segs("euclidean"))[1]
    planar_share = covered / shapely.area(shapes)
    ordered = table.loc[list(inputs.grids["code"])]
    share = ordered["covered_area_m2"].to_numpy() / ordered["area_m2"].to_numpy()
    assert 0 < planar_share.max() and planar_share.min() < 1
    assert share == pytest.approx(planar_share, abs=1e-6)
