"""Inputs every operation refuses with a 422 naming the field: unknown query parameters,
NUL characters, integers beyond PostgreSQL's bigint."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.issues.conftest import bearer

BEYOND_BIGINT = "99999999999999999999"


def problem(response, location: str, *path) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["loc"] == [location, *path], body
    assert "\\x" not in body["detail"] or "NUL" in body["detail"]
    return body["detail"]


@pytest.mark.parametrize(
    ("url", "location", "name"),
    [
        (f"/api/v1/grids?offset={BEYOND_BIGINT}", "query", "offset"),
        (f"/api/v1/facilities?limit=5&offset=-{BEYOND_BIGINT}", "query", "offset"),
        (f"/api/v1/issues?offset={BEYOND_BIGINT}", "query", "offset"),
        (f"/api/v1/issues/{BEYOND_BIGINT}", "path", "issue_id"),
        (f"/api/v1/issues/{BEYOND_BIGINT}/photos", "path", "issue_id"),
        (f"/api/v1/issues/1/photos/{BEYOND_BIGINT}", "path", "photo_id"),
        (f"/api/v1/coverage/gaps?circle=culture_5min&min_residents={BEYOND_BIGINT}", "query",
         "min_residents"),
    ],
)  # fmt: skip
def test_integers_beyond_bigint_are_named(client: TestClient, url: str, location: str, name: str):
    response = client.get(url, headers=bearer("admin"))
    detail = problem(response, location, name)
    assert f"{location} parameter '{name}'" in detail
    assert "9223372036854775807" in detail


def test_the_largest_bigint_is_still_an_integer(client: TestClient):
    response = client.get("/api/v1/issues/9223372036854775807", headers=bearer("admin"))
    assert response.status_code == 404


def test_integers_beyond_bigint_in_a_body_are_named(client: TestClient):
    body = {"action": "merge", "survivor_id": int(BEYOND_BIGINT)}
    response = client.post("/api/v1/issues/1/actions", json=body, headers=bearer("admin"))
    detail = problem(response, "body", "survivor_id")
    assert "body field 'survivor_id'" in detail


@pytest.mark.parametrize(
    ("url", "location", "name"),
    [
        ("/api/v1/grids?district=15060%00", "query", "district"),
        ("/api/v1/facilities?type=lib%00rary", "query", "type"),
        ("/api/v1/grids/1506020%0001001001", "path", "code"),
        ("/api/v1/reports/ab%00cd", "path", "public_id"),
        ("/open311/v2/requests.json?service_code=a%00", "query", "service_code"),
        ("/open311/v2/services/x%00y.json", "path", "service_code"),
    ],
)
def test_nul_in_a_query_or_path_is_named(client: TestClient, url: str, location: str, name: str):
    detail = problem(client.get(url), location, name)
    assert f"{location} parameter '{name}': contains a NUL character" in detail


def test_nul_in_a_header_is_named(client: TestClient):
    response = client.post(
        "/api/v1/issues",
        json={"category": "road_damage", "lon": 113.51, "lat": 35.51},
        headers={"Idempotency-Key": "key\x00one"},
    )
    detail = problem(response, "header", "idempotency-key")
    assert "NUL" in detail


@pytest.mark.parametrize(
    ("body", "path", "name"),
    [
        ({"category": "road_damage", "lon": 113.51, "lat": 35.51, "description": "a\x00b"},
         ["description"], "description"),
        ({"category": "road\x00damage", "lon": 113.51, "lat": 35.51}, ["category"], "category"),
        ({"category": "road_damage", "lon": 113.51, "lat": 35.51, "contact": {"x\x00": 1}},
         ["contact", "x\\x00"], "contact.x\\x00"),
    ],
)  # fmt: skip
def test_nul_in_a_json_body_is_named(client: TestClient, body: dict, path: list, name: str):
    detail = problem(client.post("/api/v1/issues", json=body), "body", *path)
    assert f"body field '{name}': contains a NUL character" in detail


def test_nul_in_a_nested_json_field_is_named(client: TestClient):
    body = {"circle": "culture_5min", "add": [{"type_code": "lib\x00", "lon": 110, "lat": 39}]}
    detail = problem(client.post("/api/v1/coverage/what-if", json=body), "body", "add", 0,
                     "type_code")  # fmt: skip
    assert "body field 'add[0].type_code'" in detail


def test_nul_in_a_form_field_is_named(client: TestClient):
    form = {"service_code": "road_damage", "lat": "35.51", "long": "113.51", "description": "\x00"}
    detail = problem(client.post("/open311/v2/requests.json", data=form), "body", "description")
    assert "NUL" in detail


@pytest.mark.parametrize(
    ("url", "unknown", "headers"),
    [
        ("/api/v1/issues?colour=x&district=150602", "colour", bearer("admin")),
        ("/api/v1/export/grids.gpkg?crs=gcj02&simplify=5", "simplify", {}),
        ("/api/v1/grids?limt=5", "limt", {}),
        ("/api/v1/districts?format=csv", "format", {}),
        ("/open311/v2/requests.json?page=2", "page", {}),
        ("/maps/grids?zoom=3", "zoom", {}),
    ],
)
def test_unknown_query_parameters_are_named(client: TestClient, url, unknown, headers):
    detail = problem(client.get(url, headers=headers), "query", unknown)
    assert f"query parameter '{unknown}': unknown parameter" in detail
    assert "this operation takes" in detail


def test_declared_parameters_stay_accepted(client: TestClient):
    admin = bearer("admin")
    listed = client.get("/api/v1/issues?status=reported&limit=5&offset=0", headers=admin)
    assert listed.status_code == 200
    listing = "/open311/v2/requests.json?status=open&service_code=x&jurisdiction_id=ordos.gov.cn"
    assert client.get(listing).status_code == 200
    assert client.get("/open311/v2/services.json?jurisdiction_id=ordos.gov.cn").status_code == 200
    page = client.get("/maps/issues?token=" + admin["Authorization"][7:], follow_redirects=False)
    assert page.status_code == 303  # the token moves into a cookie
