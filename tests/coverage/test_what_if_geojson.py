"""A what-if answered as GeoJSON: WGS-84 points and stored outlines, the same figures.

Places sent in GCJ-02 must come back where the project's inverse puts them (checked by
shifting them forward again); removed and moved facilities where the database has them;
each affected grid with its stored outline and the figures of the plain JSON answer.
"""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient
from shapely.geometry import shape

from gridsvc.common.coords import wgs84_to_gcj02
from tests.coverage.conftest import WalkCity, lonlat

DISTRICT = "150699"


def test_a_what_if_as_geojson_is_wgs84_with_outlines_and_the_same_figures(
    client: TestClient, walk_city: WalkCity
) -> None:
    add_lon, add_lat = wgs84_to_gcj02(113.52, 35.515)  # as a GCJ-02 base map gives it
    move_lon, move_lat = wgs84_to_gcj02(113.53, 35.53)
    moved, removed = walk_city.facility_ids[1], walk_city.facility_ids[0]
    body = {
        "circle": "culture_5min",
        "mode": "euclidean",
        "district": DISTRICT,
        "add": [{"type_code": "library", "lon": add_lon, "lat": add_lat, "crs": "gcj02"}],
        "move": [{"id": moved, "lon": move_lon, "lat": move_lat, "crs": "gcj02"}],
        "remove": [removed],
    }
    plain = client.post("/api/v1/coverage/what-if", json=body)
    answer = client.post("/api/v1/coverage/what-if", json={**body, "format": "geojson"})
    assert plain.status_code == answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/geo+json")
    plain, collection = plain.json(), answer.json()
    assert collection["type"] == "FeatureCollection"
    summary = {key: value for key, value in plain.items() if key not in ("grids", "seconds")}
    assert {k: v for k, v in collection["what_if"].items() if k != "seconds"} == summary
    changes = {
        f["properties"]["change"]: f for f in collection["features"] if "change" in f["properties"]
    }
    assert set(changes) == {"add", "move", "remove"}
    # The added and moved places are WGS-84: shifted forward again they are what was sent.
    for change, sent in (("add", (add_lon, add_lat)), ("move", (move_lon, move_lat))):
        lon, lat = changes[change]["geometry"]["coordinates"]
        np.testing.assert_allclose(wgs84_to_gcj02(lon, lat), sent, atol=2e-7)
    assert abs(changes["add"]["geometry"]["coordinates"][0] - 113.52) < 1e-6
    # Moved and removed facilities: where the database (the fixture) put them.
    facility_lonlat = lonlat(walk_city.facility_xy)
    np.testing.assert_allclose(changes["move"]["properties"]["from"], facility_lonlat[1], atol=1e-6)
    np.testing.assert_allclose(
        changes["remove"]["geometry"]["coordinates"], facility_lonlat[0], atol=1e-6
    )
    assert changes["remove"]["properties"]["id"] == removed
    # Each affected grid: the plain answer's row, with the grid's own outline.
    grids = [f for f in collection["features"] if "change" not in f["properties"]]
    assert {f["id"]: f["properties"] for f in grids} == {row["code"]: row for row in plain["grids"]}
    outlines = walk_city.lattice.by_code()
    assert grids
    for feature in grids:
        expected = outlines[feature["id"]].polygon
        assert shape(feature["geometry"]).symmetric_difference(expected).area < 1e-9 * expected.area


def test_an_unknown_format_is_named(client: TestClient, walk_city: WalkCity) -> None:
    body = {"circle": "culture_5min", "district": DISTRICT, "format": "kml"}
    response = client.post("/api/v1/coverage/what-if", json=body)
    assert response.status_code == 422
    assert "format" in response.text
