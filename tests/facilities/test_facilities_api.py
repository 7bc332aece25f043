"""Facilities and facility types, checked against shapely on factory facilities."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box
from sqlalchemy.orm import Session

from tests.factories import (
    DISTRICT_CODE,
    ORIGIN,
    STEP_LAT,
    STEP_LON,
    LatticeCity,
    make_facility,
    make_facility_type,
)

FACILITIES = "/api/v1/facilities"
TYPES = ("test_kiosk", "test_well")


@pytest.fixture
def facilities(db_session: Session, city: LatticeCity) -> dict[int, dict]:
    """40 facilities of two test types around the test district, some outside it."""
    make_facility_type(db_session, "test_kiosk", "测试报亭", "Test kiosk")
    make_facility_type(db_session, "test_well", "测试水井", "Test well", level="street")
    generator = random.Random(11)
    made = {}
    for number in range(40):
        lon = ORIGIN[0] + generator.uniform(-2, 8) * STEP_LON
        lat = ORIGIN[1] + generator.uniform(-2, 7) * STEP_LAT
        type_code = TYPES[number % 2]
        capacity = None if number % 5 == 0 else number * 10
        facility = make_facility(db_session, type_code, lon, lat, f"设施{number}", capacity)
        made[facility.id] = {"type_code": type_code, "point": Point(lon, lat), "capacity": capacity}
    return made


def ids(response) -> list[int]:
    return [feature["id"] for feature in response.json()["features"]]


def test_facilities_of_a_type(client: TestClient, facilities: dict[int, dict]):
    response = client.get(FACILITIES, params={"type": "test_kiosk", "limit": 1000})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    expected = sorted(i for i, f in facilities.items() if f["type_code"] == "test_kiosk")
    assert ids(response) == expected
    assert body["numberMatched"] == body["numberReturned"] == 20
    for feature in body["features"]:
        made = facilities[feature["id"]]
        properties = feature["properties"]
        assert properties["id"] == feature["id"]
        assert properties["type_code"] == "test_kiosk"
        assert properties["type_name"] == "测试报亭"
        assert properties["capacity"] == made["capacity"]
        assert properties["source"] == "test"
        assert properties["name"].startswith("设施")
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == pytest.approx((made["point"].x, made["point"].y), abs=1e-9)


def test_several_types_at_once(client: TestClient, facilities: dict[int, dict]):
    response = client.get(FACILITIES, params={"type": "test_kiosk,test_well", "limit": 1000})
    assert ids(response) == sorted(facilities)


def test_bbox_and_district_filters_agree_with_shapely(
    client: TestClient, city: LatticeCity, facilities: dict[int, dict]
):
    area = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 3.3 * STEP_LON, ORIGIN[1] + 2.7 * STEP_LAT)
    bbox = ",".join(map(repr, area.bounds))
    response = client.get(FACILITIES, params={"type": "test_well", "bbox": bbox})
    expected = [
        i
        for i, f in sorted(facilities.items())
        if f["type_code"] == "test_well" and area.intersects(f["point"])
    ]
    assert ids(response) == expected and expected

    response = client.get(
        FACILITIES, params={"district": DISTRICT_CODE, "type": "test_kiosk,test_well"}
    )
    inside = [
        i for i, f in sorted(facilities.items()) if city.district_polygon.intersects(f["point"])
    ]
    assert ids(response) == inside
    assert 0 < len(inside) < len(facilities)
    assert response.json()["numberMatched"] == len(inside)


def test_facility_pages(client: TestClient, facilities: dict[int, dict]):
    seen = []
    for offset in (0, 15, 30):
        params = {"type": "test_kiosk,test_well", "limit": 15, "offset": offset}
        body = client.get(FACILITIES, params=params).json()
        assert body["numberMatched"] == 40
        seen += [f["id"] for f in body["features"]]
    assert seen == sorted(facilities)


def test_unknown_type_is_422_listing_the_known_ones(
    client: TestClient, facilities: dict[int, dict]
):
    response = client.get(FACILITIES, params={"type": "test_kiosk,no_such_type"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'type'" in detail and "no_such_type" in detail
    assert "test_kiosk" in detail and "test_well" in detail


def test_facility_types_with_counts(client: TestClient, facilities: dict[int, dict]):
    response = client.get("/api/v1/facility-types")
    assert response.status_code == 200
    types = {t["code"]: t for t in response.json()}
    assert types["test_kiosk"] == {
        "code": "test_kiosk",
        "name": "测试报亭",
        "name_en": "Test kiosk",
        "level": "community",
        "count": 20,
    }
    assert types["test_well"]["count"] == 20
    assert types["test_well"]["level"] == "street"
    codes = [t["code"] for t in response.json()]
    assert codes == sorted(codes)
