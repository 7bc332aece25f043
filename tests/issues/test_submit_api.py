from __future__ import annotations

import io

from PIL import Image

from gridsvc.common.coords import wgs84_to_gcj02
from tests.factories import ORIGIN, STEP_LAT, STEP_LON
from tests.issues.conftest import GRID_A, GRID_B


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(buffer, "PNG")
    return buffer.getvalue()


PNG = png()


def report(lon: float, lat: float, **extra) -> dict:
    return {
        "lon": lon,
        "lat": lat,
        "category": "road_damage",
        "description": "路面坑洼",
        **extra,
    }


def test_submit_routes_to_grid_department_and_deadline(client, city) -> None:
    lon, lat = ORIGIN[0] + STEP_LON * 0.5, ORIGIN[1] + STEP_LAT * 0.5
    response = client.post("/api/v1/issues", json=report(lon, lat, accuracy_m=8))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "reported"
    assert body["grid"]["code"] == GRID_A
    assert body["community"]["code"] == GRID_A[:12]
    assert body["street"]["code"] == GRID_A[:9]
    assert body["district"]["code"] == "150699"
    assert body["department"]["code"] == "transport"
    assert body["routing"] == {"method": "inside", "distance_m": 0.0}
    assert body["deadline"] is not None
    assert body["public_id"].startswith("GS") and len(body["secret"]) == 32


def test_gcj02_point_lands_where_its_wgs84_point_lies(client, city) -> None:
    # Near the edge between A and B: 20 m west of it in WGS-84; GCJ-02 shifts by ~500 m.
    lon, lat = ORIGIN[0] + STEP_LON - 0.0002, ORIGIN[1] + STEP_LAT * 0.5
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    body = client.post(
        "/api/v1/issues", json=report(float(gcj_lon), float(gcj_lat), crs="gcj02")
    ).json()
    assert body["grid"]["code"] == GRID_A
    assert abs(body["lon"] - lon) < 1e-8 and abs(body["lat"] - lat) < 1e-8


def test_point_on_shared_edge_goes_to_lowest_code(client, city) -> None:
    lon, lat = ORIGIN[0] + STEP_LON, ORIGIN[1] + STEP_LAT * 0.5
    body = client.post("/api/v1/issues", json=report(lon, lat)).json()
    assert body["grid"]["code"] == min(GRID_A, GRID_B)


def test_point_just_outside_snaps_to_nearest_grid(client, city) -> None:
    # 30 m west of the city's western edge (a degree of longitude is ~90.6 km here).
    lon, lat = ORIGIN[0] - 30 / 90_600, ORIGIN[1] + STEP_LAT * 0.5
    body = client.post("/api/v1/issues", json=report(lon, lat)).json()
    assert body["status"] == "reported"
    assert body["grid"]["code"] == GRID_A
    assert body["routing"]["method"] == "nearest"
    assert 25 < body["routing"]["distance_m"] < 35


def test_point_far_from_grids_is_accepted_unrouted(client, city, headers) -> None:
    response = client.post("/api/v1/issues", json=report(107.0, 36.0))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "unrouted" and body["grid"] is None
    assert body["routing"]["method"] == "unrouted"
    queue = client.get("/api/v1/issues?status=unrouted", headers=headers("supervisor")).json()
    assert body["id"] in [issue["id"] for issue in queue["issues"]]


def test_point_outside_the_city_is_a_422_that_says_so(client, city, headers) -> None:
    before = client.get("/api/v1/issues", headers=headers("admin")).json()["numberMatched"]
    hangzhou = client.post("/api/v1/issues", json=report(120.15, 30.28))
    assert hangzhou.status_code == 422
    assert hangzhou.json()["errors"][0]["loc"] == ["body", "lon"]
    assert "far outside the city" in hangzhou.json()["detail"]
    swapped = client.post("/api/v1/issues", json=report(39.82, 109.99))
    assert swapped.status_code == 422 and "swapped" in swapped.json()["detail"]
    listed = client.get("/api/v1/issues", headers=headers("admin")).json()
    assert listed["numberMatched"] == before


def test_bad_input_is_a_422_naming_the_field(client, city) -> None:
    response = client.post("/api/v1/issues", json=report(200.0, 0.0))
    assert response.status_code == 422 and "lon" in response.json()["detail"]
    response = client.post("/api/v1/issues", json={**report(113.5, 35.5), "category": "ufo"})
    assert response.status_code == 422
    assert "unknown category 'ufo'" in response.json()["detail"]
    response = client.post("/api/v1/issues", json=report(113.5, 35.5, crs="utm"))
    assert response.status_code == 422 and "crs" in response.json()["detail"]


def test_words_or_photos_to_follow(client, city) -> None:
    lon, lat = ORIGIN[0] + STEP_LON * 0.5, ORIGIN[1] + STEP_LAT * 0.5
    for description in ("", "   "):
        response = client.post("/api/v1/issues", json=report(lon, lat, description=description))
        assert response.status_code == 422, response.text
        assert "description: required unless photos follow" in response.json()["detail"]
    without_words = {key: value for key, value in report(lon, lat).items() if key != "description"}
    response = client.post("/api/v1/issues", json={**without_words, "photo_count": 1})
    assert response.status_code == 201, response.text
    issue = response.json()
    photo = client.post(
        f"/api/v1/issues/{issue['id']}/photos",
        files={"photo": ("p.png", PNG)},
        headers={"X-Reporter-Secret": issue["secret"]},
    )
    assert photo.status_code == 201, photo.text
    too_many = client.post("/api/v1/issues", json={**without_words, "photo_count": 11})
    assert too_many.status_code == 422 and "photo_count" in too_many.json()["detail"]


def test_duplicates_suggested_within_radius(client, city) -> None:
    lon, lat = ORIGIN[0] + STEP_LON * 0.5, ORIGIN[1] + STEP_LAT * 0.5
    first = client.post("/api/v1/issues", json=report(lon, lat)).json()
    near = client.post("/api/v1/issues", json=report(lon + 100 / 90_600, lat)).json()
    assert near["duplicates"] == [
        # Another person's report: public id, category, status, distance in 50 m steps only.
        {"public_id": first["public_id"], "category": "road_damage", "status": "reported",
         "distance_m": near["duplicates"][0]["distance_m"]}
    ]  # fmt: skip
    assert near["duplicates"][0]["distance_m"] in (100, 150)
    # The exact entry above carries no internal id; the secret is nowhere in the answer.
    assert first["secret"] not in str(near)
    far = client.post("/api/v1/issues", json=report(lon + 400 / 90_600, lat)).json()
    assert first["public_id"] not in [d["public_id"] for d in far["duplicates"]]
    other = client.post("/api/v1/issues", json={**report(lon, lat), "category": "greenery"}).json()
    assert other["duplicates"] == []


def test_routing_table_overrides_category_department(client, city, headers) -> None:
    response = client.put(
        "/api/v1/department-routes/road_damage/150699",
        json={"department": "municipal_facilities"},
        headers=headers("admin"),
    )
    assert response.status_code == 200, response.text
    lon, lat = ORIGIN[0] + STEP_LON * 0.5, ORIGIN[1] + STEP_LAT * 0.5
    body = client.post("/api/v1/issues", json=report(lon, lat)).json()
    assert body["department"]["code"] == "municipal_facilities"
    refused = client.put(
        "/api/v1/department-routes/road_damage/150699",
        json={"department": "transport"},
        headers=headers("supervisor"),
    )
    assert refused.status_code == 403
