"""Grids on a map keep their shared edges: no slivers open between neighbours at any zoom.

Measured in the GeoJSON the page carries, in metres (UTM 49N), against the same measure
on the stored grids: the page may not have more gap (or overlap) than the database.
"""

from __future__ import annotations

import geopandas as gpd
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
