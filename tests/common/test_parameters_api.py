"""Every bad parameter is a 422 whose message names the parameter and what is wrong."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gridsvc.config import Settings

BAD_BBOXES = {
    "1,2,3": "4 comma-separated numbers",
    "1,2,3,4,5": "4 comma-separated numbers",
    "": "4 comma-separated numbers",
    "a,b,c,d": "not 4 numbers",
    "1,2,,4": "not 4 numbers",
    "nan,0,1,1": "not finite",
    "3,0,1,1": "minlon 3 is greater than maxlon 1",
    "0,3,1,1": "minlat 3 is greater than maxlat 1",
    "-181,0,0,1": "minlon -181 is outside [-180, 180]",
    "0,0,181,1": "maxlon 181 is outside",
    "0,-91,1,0": "minlat -91 is outside [-90, 90]",
    "0,0,1,90.5": "maxlat 90.5 is outside",
}


@pytest.mark.parametrize("path", ["/api/v1/grids", "/api/v1/facilities"])
@pytest.mark.parametrize(("bbox", "reason"), BAD_BBOXES.items())
def test_malformed_bbox(client: TestClient, path: str, bbox: str, reason: str):
    response = client.get(path, params={"bbox": bbox})
    assert response.status_code == 422
    body = response.json()
    assert "query parameter 'bbox'" in body["detail"]
    assert reason in body["detail"]
    assert body["errors"][0]["loc"] == ["query", "bbox"]


@pytest.mark.parametrize("path", ["/api/v1/grids", "/api/v1/facilities"])
@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"district": "15069"}, "district"),
        ({"district": "abcdef"}, "district"),
    ],
)
def test_bad_paging_and_district(client: TestClient, path: str, params: dict, name: str):
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert f"query parameter '{name}'" in response.json()["detail"]


def test_limit_above_the_maximum(client: TestClient, settings: Settings):
    too_many = settings.max_page_size + 1
    for path in ("/api/v1/grids", "/api/v1/facilities"):
        response = client.get(path, params={"limit": too_many})
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "'limit'" in detail and f"at most {settings.max_page_size}" in detail
    largest = client.get("/api/v1/grids", params={"limit": settings.max_page_size})
    assert largest.status_code == 200


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"street": "1506990"}, "street"),
        ({"community": "15069900100"}, "community"),
    ],
)
def test_bad_parent_codes(client: TestClient, params: dict, name: str):
    response = client.get("/api/v1/grids", params=params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert f"query parameter '{name}'" in detail and "digits" in detail


@pytest.mark.parametrize(
    ("params", "name", "reason"),
    [
        ({"lon": 180.5, "lat": 39}, "lon", "less than or equal to 180"),
        ({"lon": -181, "lat": 39}, "lon", "greater than or equal to -180"),
        ({"lon": 110, "lat": 90.1}, "lat", "less than or equal to 90"),
        ({"lon": 110, "lat": -91}, "lat", "greater than or equal to -90"),
        ({"lon": "inf", "lat": 39}, "lon", "finite"),
        ({"lon": 110, "lat": "nan"}, "lat", "finite"),
        ({"lon": "east", "lat": 39}, "lon", "number"),
        ({"lat": 39}, "lon", "required"),
        ({"lon": 110}, "lat", "required"),
    ],
)
def test_bad_locate_position(client: TestClient, params: dict, name: str, reason: str):
    response = client.get("/api/v1/grids/locate", params=params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert f"query parameter '{name}'" in detail and reason in detail


def test_error_bodies_share_one_shape(client: TestClient):
    not_found = client.get("/api/v1/grids/150699009009009").json()
    invalid = client.get("/api/v1/grids", params={"bbox": "x"}).json()
    validation = client.get("/api/v1/grids", params={"limit": 0}).json()
    for body in (not_found, invalid, validation):
        assert isinstance(body["detail"], str)
    for body in (invalid, validation):
        assert {"loc", "msg", "type"} <= set(body["errors"][0])
