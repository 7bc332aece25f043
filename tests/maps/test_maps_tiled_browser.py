"""The whole city's coverage map drawn from vector tiles, in Chromium, against the database.

One district's coverage of one circle is stored (the tiles draw stored coverage); the map
is zoomed onto that district and the features its coverage tiles drew are compared with
an independent query of the stored coverage and the grids in the view.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.maps.helpers import CIRCLE, MAP_STATE, MODE, drawn


def test_city_coverage_tiles_match_the_database(
    server_url, watched_page, engine, stored_district, demo_city
) -> None:
    page = watched_page.page
    response = page.goto(f"{server_url}/maps/coverage?circle={CIRCLE}&mode={MODE}")
    assert response.ok
    # The page carries no grid polygon: they come as tiles.
    assert page.evaluate(MAP_STATE)["polygons"] == 0
    grids = demo_city.grids[demo_city.grids["code"].str.startswith(stored_district)]
    grid = grids.sort_values("population").iloc[-1]
    point = grid.geometry.representative_point()
    page.evaluate(
        """([lat, lon]) => { const map = Object.values(window).find((v) => v instanceof L.Map);
        map.setView([lat, lon], 14, {animate: false}); }""",
        [point.y, point.x],
    )
    state = drawn(page)
    assert state["marked"] and state["zoom"] == 14
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT gc.grid_code, gc.residents, gc.covered_residents FROM grid_coverage gc"
                " JOIN grids g ON g.code = gc.grid_code AND g.valid_to IS NULL"
                " WHERE gc.circle = :c AND gc.mode = :m"
                " AND g.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
                " AND ST_Intersects(g.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
            ),
            dict(zip("wsen", state["bounds"], strict=True), c=CIRCLE, m=MODE),
        ).all()
    expected = {row.grid_code: row for row in rows}
    # Every grid in the view is drawn; tiles carry a margin, so a few beyond may be too.
    assert set(expected) <= set(state["codes"])
    assert len(expected) >= 5  # a town's centre: enough grids to compare
    for code, row in expected.items():
        figures = state["figures"][code]
        assert figures["population"] == row.residents
        if row.residents:
            share = round(row.covered_residents / row.residents * 100, 1)
            assert figures["coverage_percent"] == pytest.approx(share, abs=0.1)
    # A click on a grid opens its popup with its figures and names.
    page.mouse.click(640, 400)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=10_000)
    assert "/api/v1/grids/" in popup.inner_html()
    watched_page.screenshot("map-coverage-city-tiles")
    # Search by code finds a grid the page has no polygon of.
    box = page.locator(".map-search input")
    box.fill(grid["code"])
    box.press("Enter")
    found = page.locator(".leaflet-popup-content", has_text=grid["code"]).last
    found.wait_for(state="visible", timeout=10_000)
    assert grid["name"] in found.inner_text()
    watched_page.screenshot("map-coverage-city-tiles-search")
    watched_page.assert_clean()
