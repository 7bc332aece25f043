"""Suggested sites on a GCJ-02 base map sit where the project's own transform puts them.

A second server has a GCJ-02 tile server configured (a local image, so nothing leaves the
machine). The siting API asked in WGS-84 gives the sites; shifted with
:func:`gridsvc.common.coords.wgs84_to_gcj02` they must be where the page draws them, and
where the API answers when asked for GCJ-02.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.request import Request, urlopen

import numpy as np
import pytest

from gridsvc.common.coords import wgs84_to_gcj02
from tests.maps.conftest import ARTIFACTS, serve_app
from tests.maps.helpers import CIRCLE, export

SITES = """() => window.gridsvcScenario.sites.getLayers().map((marker) => [
    marker.getLatLng().lng, marker.getLatLng().lat, marker.gridsvcSite.rank])"""


def siting(base: str, body: dict) -> dict:
    request = Request(  # loopback
        f"{base}/api/v1/coverage/siting",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
        method="POST",
    )
    with urlopen(request, timeout=120) as response:  # loopback
        return json.loads(response.read())


@pytest.fixture(scope="module")
def gcj02_server_url(database_url: str, server_url: str) -> Iterator[str]:
    """A gridsvc whose base map is a GCJ-02 tile server (an image the first server has)."""
    tiles = f"{server_url}/static/leaflet/images/layers.png?z={{z}}&x={{x}}&y={{y}}"
    settings = {
        "GRIDSVC_DATABASE_URL": database_url,
        "GRIDSVC_MAP_TILES": tiles,
        "GRIDSVC_MAP_TILES_CRS": "gcj02",
    }
    yield from serve_app(settings, ARTIFACTS / "server-gcj02.log")


def test_suggested_sites_are_shifted_onto_a_gcj02_base_map(
    gcj02_server_url, watched_page, demo_city
) -> None:
    district = demo_city.districts["code"].iloc[0]
    page = watched_page.page
    url = f"{gcj02_server_url}/maps/scenario?circle={CIRCLE}&mode=euclidean&district={district}"
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.gridsvcScenario", timeout=90_000)
    assert page.evaluate("() => window.gridsvcScenario.tiled") is False  # tiles are WGS-84
    page.locator(".scenario-k").fill("2")
    page.locator(".scenario-suggest").click()
    page.wait_for_function("() => window.gridsvcScenario.siting", timeout=120_000)
    drawn = sorted(page.evaluate(SITES), key=lambda site: site[2])
    body = {"circle": CIRCLE, "mode": "euclidean", "district": district, "k": 2}
    wgs84 = siting(gcj02_server_url, body)
    assert wgs84["crs"] == "wgs84" and len(wgs84["sites"]) == len(drawn) == 2
    lon = np.array([site["lon"] for site in wgs84["sites"]])
    lat = np.array([site["lat"] for site in wgs84["sites"]])
    shifted_lon, shifted_lat = wgs84_to_gcj02(lon, lat)
    drawn_lon = np.array([site[0] for site in drawn])
    drawn_lat = np.array([site[1] for site in drawn])
    np.testing.assert_allclose(drawn_lon, shifted_lon, atol=1e-6)
    np.testing.assert_allclose(drawn_lat, shifted_lat, atol=1e-6)
    # Really shifted: GCJ-02 moves Ordos by a few hundred metres.
    assert np.all(np.hypot(drawn_lon - lon, drawn_lat - lat) > 1e-3)
    # The page asked the API for GCJ-02, and the API says so.
    assert page.evaluate("() => window.gridsvcScenario.siting.crs") == "gcj02"
    watched_page.screenshot(f"map-scenario-{district}-gcj02-sites")
    # Taken into the scenario and exported, the sites are WGS-84 again, as GeoJSON must be.
    page.locator(".scenario-take").click()
    page.wait_for_function("() => window.gridsvcScenario.last", timeout=120_000)
    exported = export(page)
    added = [
        f["geometry"]["coordinates"]
        for f in exported["features"]
        if f["properties"].get("change") == "add"
    ]
    np.testing.assert_allclose(sorted(added), sorted(zip(lon, lat, strict=True)), atol=1e-6)
    watched_page.assert_clean()


def test_siting_answers_in_the_coordinate_system_asked(client, loaded_demo_city) -> None:
    district = loaded_demo_city.districts["code"].iloc[0]
    body = {"circle": CIRCLE, "mode": "euclidean", "district": district, "k": 2}
    wgs84 = client.post("/api/v1/coverage/siting", json=body).json()
    gcj02 = client.post("/api/v1/coverage/siting", json={**body, "crs": "gcj02"}).json()
    assert (wgs84["crs"], gcj02["crs"]) == ("wgs84", "gcj02")
    for plain, shifted in zip(wgs84["sites"], gcj02["sites"], strict=True):
        lon, lat = wgs84_to_gcj02(plain["lon"], plain["lat"])
        assert shifted["lon"] == pytest.approx(float(lon), abs=1e-7)
        assert shifted["lat"] == pytest.approx(float(lat), abs=1e-7)
        assert shifted["grid_code"] == plain["grid_code"]  # the same site, only drawn shifted
    # GeoJSON stays WGS-84, as RFC 7946 asks, whatever crs says.
    geojson = client.post(
        "/api/v1/coverage/siting", json={**body, "crs": "gcj02", "format": "geojson"}
    ).json()
    assert [f["geometry"]["coordinates"] for f in geojson["features"]] == [
        [site["lon"], site["lat"]] for site in wgs84["sites"]
    ]
