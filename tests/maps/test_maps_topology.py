"""Grids on a map keep their shared edges: no slivers open between neighbours at any zoom.

Measured in the GeoJSON the page carries, in metres (UTM 49N), against the same measure
on the stored grids: the page may not have more gap (or overlap) than the database.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from tests.maps.helpers import embedded_collections

#: What coordinates rounded to 5 decimals (about 1 m) may add in a whole district, m².
ROUNDING_M2 = 1.0


def gap_and_overlap_m2(geometries: gpd.GeoSeries) -> tuple[float, float]:
    """Area of the holes inside the grids' union, and of the grids' pairwise overlaps.

    The union is taken on the coordinates as drawn (degrees), then measured in metres.
    """
    union = shapely.union_all(geometries.to_crs(4326).values)
    parts = getattr(union, "geoms", [union])
    holes = gpd.GeoSeries(
        [shapely.Polygon(ring) for part in parts for ring in part.interiors], crs=4326
    )
    metric_union = gpd.GeoSeries([union], crs=4326).to_crs(32649).area.sum()
    overlap = geometries.to_crs(32649).area.sum() - metric_union
    return float(holes.to_crs(32649).area.sum()), float(overlap)


def test_district_map_has_no_more_slivers_than_the_database(client, loaded_demo_city) -> None:
    city = loaded_demo_city
    code = city.districts["code"].iloc[0]
    stored = city.grids[city.grids["code"].str.startswith(code)]
    response = client.get("/maps/grids", params={"district": code})
    assert response.status_code == 200
    (grids,) = embedded_collections(response.text)
    drawn = gpd.GeoDataFrame.from_features(grids["features"], crs=4326)
    assert sorted(drawn["code"]) == sorted(stored["code"])
    # The page is simplified (fewer vertices than stored), yet neighbours still meet.
    drawn_vertices = shapely.get_num_coordinates(drawn.geometry.values).sum()
    assert drawn_vertices < shapely.get_num_coordinates(stored.geometry.values).sum()
    drawn_gap, drawn_overlap = gap_and_overlap_m2(drawn.geometry)
    stored_gap, stored_overlap = gap_and_overlap_m2(stored.geometry.to_crs(4326))
    assert drawn_gap <= stored_gap + ROUNDING_M2
    assert drawn_overlap <= stored_overlap + ROUNDING_M2
    # Simplifying grid by grid (what the maps did) opens gaps: the measure sees them.
    stored_degrees = stored.geometry.to_crs(4326).values
    one_by_one = shapely.simplify(stored_degrees, 0.0005, preserve_topology=True)
    assert gap_and_overlap_m2(gpd.GeoSeries(one_by_one, crs=4326))[0] > 1000 * ROUNDING_M2


def test_an_area_smaller_than_the_tolerance_is_still_drawn() -> None:
    from gridsvc.maps import topology

    tolerance = 10.0
    areas = np.array(
        [shapely.box(0, 0, 300, 200).buffer(40, quad_segs=8), shapely.box(1000, 0, 1004, 3)],
        dtype=object,
    )
    simple = topology.simplify_areas(areas, tolerance)
    assert shapely.is_valid(simple).all()
    assert shapely.get_type_id(simple).tolist() in ([3, 3], [6, 3], [3, 6], [6, 6])
    assert shapely.intersects(simple, areas).all()  # the tiny one too
    assert shapely.get_num_coordinates(simple[0]) < shapely.get_num_coordinates(areas[0])
    # Within the tolerance of where it was, both ways.
    assert shapely.hausdorff_distance(simple[0], areas[0]) <= tolerance


def test_merged_areas_of_a_map_stay_within_its_tolerance(db_session, loaded_demo_city) -> None:
    """At the city map's tolerance, the merged walking areas are the exact union's, drawn.

    Every facility's area is still drawn; every drawn vertex lies within the tolerance of
    the exact union of the stored areas; every vertex of that union lies within twice the
    tolerance of what is drawn (a ring narrower than the tolerance may be dropped whole).
    """
    from gridsvc.common.geojson import BBox
    from gridsvc.coverage import refresh
    from gridsvc.coverage import service as coverage_service
    from gridsvc.coverage.circles import load_circles
    from gridsvc.facilities import service as facilities_service
    from gridsvc.maps import service as maps_service

    refresh.refresh(db_session, circle_codes=["living_15min"])
    circle = load_circles()["living_15min"]
    codes, shapes = coverage_service.service_area_shapes(
        db_session, circle, "network", None, limit=maps_service.SERVICE_AREAS_LIMIT
    )
    assert len(codes) > 20
    tolerance = maps_service.tolerance_for(BBox(*shapely.total_bounds(shapes)))
    merged = maps_service.merged_service_areas(db_session, circle, "network", None, tolerance)
    names = {kind.code: kind.name for kind in facilities_service.list_facility_types(db_session)}
    types = np.array(codes, dtype=object)
    for type_code in sorted(set(codes)):
        own = shapes[types == type_code]
        drawn = merged.geometry[merged["type_name"] == names[type_code]].iloc[0]
        exact = shapely.union_all(own)
        assert shapely.intersects(own, drawn).all(), type_code
        out = shapely.distance(shapely.points(shapely.get_coordinates(drawn)), exact)
        assert out.max() <= tolerance, (type_code, out.max() / tolerance)
        lost = shapely.distance(shapely.points(shapely.get_coordinates(exact)), drawn)
        assert lost.max() <= 2 * tolerance, (type_code, lost.max() / tolerance)
