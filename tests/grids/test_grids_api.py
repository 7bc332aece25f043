"""Grids: listing, filters, paging, by code, locate; checked with shapely on the factory city."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box, shape

from tests.factories import DISTRICT_CODE, ORIGIN, STEP_LAT, STEP_LON, LatticeCity

GRIDS = "/api/v1/grids"


def codes(response) -> list[str]:
    return [feature["properties"]["code"] for feature in response.json()["features"]]


def test_list_grids_of_district_is_ordered_by_code(client: TestClient, city: LatticeCity):
    response = client.get(GRIDS, params={"district": DISTRICT_CODE, "limit": 1000})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == body["numberReturned"] == len(city.grids) == 30
    assert codes(response) == sorted(grid.code for grid in city.grids)


def test_grid_properties_match_the_factory(client: TestClient, city: LatticeCity):
    response = client.get(GRIDS, params={"district": DISTRICT_CODE, "limit": 1000})
    expected = city.by_code()
    for feature in response.json()["features"]:
        properties = feature["properties"]
        grid = expected[properties["code"]]
        assert feature["id"] == grid.code
        assert properties["district_code"] == DISTRICT_CODE
        assert properties["street_code"] == grid.street_code
        assert properties["community_code"] == grid.community_code
        assert properties["community_name"] == grid.community_name
        assert properties["population"] == grid.population
        assert properties["households"] == grid.households
        assert properties["grid_workers"] == grid.grid_workers
        assert properties["name"].endswith("网格")


@pytest.mark.parametrize(
    ("parameter", "value", "count"),
    [
        ("street", f"{DISTRICT_CODE}001", 18),
        ("street", f"{DISTRICT_CODE}002", 12),
        ("community", f"{DISTRICT_CODE}001001", 12),
        ("community", f"{DISTRICT_CODE}001002", 6),
        ("district", "150697", 0),
    ],
)
def test_filter_by_parent_code(client: TestClient, city: LatticeCity, parameter, value, count):
    response = client.get(GRIDS, params={parameter: value, "limit": 1000})
    assert response.status_code == 200
    expected = sorted(
        grid.code for grid in city.grids if getattr(grid, f"{parameter}_code") == value
    )
    assert codes(response) == expected
    assert response.json()["numberMatched"] == count == len(expected)


def test_bbox_filter_agrees_with_shapely(client: TestClient, city: LatticeCity):
    generator = random.Random(7)
    west, south = ORIGIN
    for _ in range(25):
        lons = sorted(west + generator.uniform(-2, 8) * STEP_LON for _ in range(2))
        lats = sorted(south + generator.uniform(-2, 7) * STEP_LAT for _ in range(2))
        bbox = (lons[0], lats[0], lons[1], lats[1])
        response = client.get(GRIDS, params={"bbox": ",".join(map(repr, bbox)), "limit": 1000})
        assert response.status_code == 200
        expected = sorted(g.code for g in city.grids if g.polygon.intersects(box(*bbox)))
        assert codes(response) == expected
        assert response.json()["numberMatched"] == len(expected)


def test_bbox_touching_an_edge_includes_the_grids_on_it(client: TestClient, city: LatticeCity):
    edge = ORIGIN[0] + STEP_LON  # east edge of the first column
    bbox = f"{edge},{ORIGIN[1]},{edge},{ORIGIN[1] + STEP_LAT / 2}"
    response = client.get(GRIDS, params={"bbox": bbox})
    assert codes(response) == [f"{DISTRICT_CODE}001001001", f"{DISTRICT_CODE}001001002"]


def test_bbox_and_community_combine(client: TestClient, city: LatticeCity):
    bbox = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 4.5 * STEP_LON, ORIGIN[1] + 0.5 * STEP_LAT)
    community = f"{DISTRICT_CODE}001002"
    response = client.get(
        GRIDS, params={"bbox": ",".join(map(str, bbox.bounds)), "community": community}
    )
    expected = [
        g.code for g in city.grids if g.community_code == community and g.polygon.intersects(bbox)
    ]
    assert codes(response) == sorted(expected) == [f"{community}001"]


def test_pages_are_disjoint_and_cover_the_listing(client: TestClient, city: LatticeCity):
    seen: list[str] = []
    for offset in range(0, 35, 7):
        response = client.get(
            GRIDS, params={"district": DISTRICT_CODE, "limit": 7, "offset": offset}
        )
        body = response.json()
        assert body["numberMatched"] == 30
        assert body["numberReturned"] == min(7, 30 - offset)
        seen += codes(response)
    assert seen == sorted(grid.code for grid in city.grids)
    assert len(set(seen)) == 30
    beyond = client.get(GRIDS, params={"district": DISTRICT_CODE, "offset": 30}).json()
    assert beyond["numberMatched"] == 30 and beyond["features"] == []


def test_next_and_prev_links_walk_the_pages(client: TestClient, city: LatticeCity):
    body = client.get(GRIDS, params={"district": DISTRICT_CODE, "limit": 12}).json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert "prev" not in rels and "self" in rels
    walked = [f["id"] for f in body["features"]]
    while "next" in rels:
        body = client.get(rels["next"]).json()
        rels = {link["rel"]: link["href"] for link in body["links"]}
        assert "prev" in rels
        walked += [f["id"] for f in body["features"]]
    assert walked == sorted(grid.code for grid in city.grids)
    assert f"district={DISTRICT_CODE}" in rels["self"]


def test_default_page_size_is_100(client: TestClient, city: LatticeCity):
    body = client.get(GRIDS, params={"district": DISTRICT_CODE}).json()
    assert body["numberReturned"] == 30
    assert all(link["href"].find("limit=100") >= 0 for link in body["links"])


def test_grid_geometry_is_rfc7946(client: TestClient, city: LatticeCity):
    for grid in city.grids[:3] + city.grids[12:15]:  # the second community is stored clockwise
        response = client.get(f"{GRIDS}/{grid.code}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/geo+json")
        feature = response.json()
        assert feature["type"] == "Feature"
        assert feature["id"] == grid.code
        geometry = feature["geometry"]
        assert geometry["type"] == "MultiPolygon"
        ring = geometry["coordinates"][0][0]
        assert ring[0] == ring[-1]
        lon, lat = ring[0]
        assert 113 < lon < 114 and 35 < lat < 36  # lon first
        served = shape(geometry)
        assert served.equals(grid.polygon)
        assert served.geoms[0].exterior.is_ccw  # right-hand rule


def test_area_on_the_ground_matches_utm(client: TestClient, city: LatticeCity):
    import geopandas as gpd

    expected = gpd.GeoSeries([g.polygon for g in city.grids], crs=4326).to_crs(32649).area / 1e6
    body = client.get(GRIDS, params={"district": DISTRICT_CODE}).json()
    served = {f["id"]: f["properties"]["area_km2"] for f in body["features"]}
    for grid, area in zip(city.grids, expected, strict=True):
        assert served[grid.code] == pytest.approx(area, rel=0.005)
        assert 0.5 < area < 0.7


def test_unknown_grid_code_is_404_naming_it(client: TestClient, city: LatticeCity):
    response = client.get(f"{GRIDS}/150699009009009")
    assert response.status_code == 404
    assert "150699009009009" in response.json()["detail"]


@pytest.mark.parametrize("code", ["12", "1506990010010011", "15069900100100a", "abcdefghijklmno"])
def test_malformed_grid_code_is_422(client: TestClient, code: str):
    response = client.get(f"{GRIDS}/{code}")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'code'" in detail and "15 digits" in detail


def test_locate_random_points_like_brute_force(client: TestClient, city: LatticeCity):
    generator = random.Random(2024)
    west, south = ORIGIN
    for _ in range(200):
        lon = west + generator.uniform(-1, 7) * STEP_LON
        lat = south + generator.uniform(-1, 6) * STEP_LAT
        response = client.get(f"{GRIDS}/locate", params={"lon": lon, "lat": lat})
        expected = city.containing(Point(lon, lat))
        if expected:
            assert response.status_code == 200, (lon, lat)
            assert response.json()["id"] == expected[0]
        else:
            assert response.status_code == 404, (lon, lat)


def test_points_on_shared_edges_and_vertices_go_to_the_lowest_code(
    client: TestClient, city: LatticeCity
):
    west, south = ORIGIN
    shared = 0
    for column in range(7):
        for row in range(6):
            for d_lon, d_lat in ((0, 0), (0, 0.5), (0.5, 0)):  # vertex, vertical, horizontal edge
                point = Point(west + (column + d_lon) * STEP_LON, south + (row + d_lat) * STEP_LAT)
                expected = city.containing(point)
                response = client.get(f"{GRIDS}/locate", params={"lon": point.x, "lat": point.y})
                if not expected:
                    assert response.status_code == 404
                    continue
                shared += len(expected) > 1
                assert response.status_code == 200
                assert response.json()["id"] == expected[0]
    assert shared > 50  # the test did exercise ties


def test_vertex_of_four_grids_in_two_communities(client: TestClient, city: LatticeCity):
    point = (ORIGIN[0] + 4 * STEP_LON, ORIGIN[1] + STEP_LAT)
    assert len(city.containing(Point(point))) == 4
    response = client.get(f"{GRIDS}/locate", params={"lon": point[0], "lat": point[1]})
    assert response.json()["id"] == f"{DISTRICT_CODE}001001004"


def test_locate_outside_every_grid_is_404(client: TestClient, city: LatticeCity):
    response = client.get(f"{GRIDS}/locate", params={"lon": -170.5, "lat": -80.25})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "lon=-170.5" in detail and "lat=-80.25" in detail


def test_locate_is_not_taken_for_a_grid_code(client: TestClient):
    response = client.get(f"{GRIDS}/locate")
    assert response.status_code == 422
    assert "'lon'" in response.json()["detail"]
