"""Security headers on every response; staff answers are never stored; no ReDoc from a CDN."""

from __future__ import annotations

import pytest

from gridsvc.common.headers import DATA_POLICY
from gridsvc.config import get_settings
from gridsvc.main import create_app
from tests.issues.conftest import bearer

SUPERVISOR = bearer("supervisor", "headers-check")


def assert_security_headers(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] in ("DENY", "SAMEORIGIN")
    assert "frame-ancestors" in response.headers["content-security-policy"]


def test_json_answers_allow_nothing_to_load(client) -> None:
    for response in (client.get("/health"), client.get("/api/v1/districts/000000")):
        assert_security_headers(response)
        assert response.headers["content-security-policy"] == DATA_POLICY
        assert response.headers["x-frame-options"] == "DENY"
    assert "no-store" not in client.get("/health").headers.get("cache-control", "")


def test_html_pages_get_the_page_policy(client) -> None:
    docs = client.get("/docs")
    assert_security_headers(docs)
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy and "object-src 'none'" in policy
    assert docs.headers["x-frame-options"] == "SAMEORIGIN"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/issues", SUPERVISOR),
        ("/api/v1/stats/issues", SUPERVISOR),
        ("/api/v1/issues/1", {}),  # an issue path, even refused
        ("/api/v1/districts", SUPERVISOR),  # any answer to a bearer token
        ("/health", {"Cookie": "gridsvc_token=abc"}),  # the maps' token cookie
        ("/open311/v2/services.json?api_key=k", {}),
    ],
)
def test_staff_answers_are_never_stored(client, path: str, headers: dict) -> None:
    response = client.get(path, headers=headers)
    assert response.headers["cache-control"] == "no-store", (path, response.status_code)
    assert_security_headers(response)


def test_redoc_is_not_offered(client) -> None:
    assert client.get("/redoc").status_code == 404
    assert "cdn" not in client.get("/docs").text.lower()


def test_base_map_tiles_may_load(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    monkeypatch.setenv("GRIDSVC_MAP_TILES", "amap")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            policy = client.get("/docs").headers["content-security-policy"]
    finally:
        get_settings.cache_clear()
    assert "img-src 'self' data: blob: https://*.is.autonavi.com;" in policy
