"""A district's coverage map from the vector tiles, and the browser's cache on a reload.

One district's coverage is stored (``stored_district``): its map then sends no grid
polygon. What its tiles drew is compared with the demo city's own grids (which grids) and
an independent query of the stored coverage (their figures). A reload must take every tile
from the browser's cache (the URLs carry the data version and are sent immutable) and get
the page itself as a 304; a change of the stored coverage must give the page new tile URLs
whose tiles show the change.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.maps.conftest import is_local
from tests.maps.helpers import CIRCLE, MAP_STATE, MODE, drawn

SET_VIEW = """([lat, lon, zoom]) => {
    const map = Object.values(window).find((v) => v instanceof L.Map);
    map.setView([lat, lon], zoom, {animate: false}); }"""
TRANSFERS = """() => {
    const page = performance.getEntriesByType('navigation')[0];
    const tiles = performance.getEntriesByType('resource').filter(
        (entry) => entry.name.includes('/tiles/'));
    return {page: page.transferSize, tiles: tiles.map((entry) => entry.transferSize)};
}"""
TILE_URL = re.compile(rf"collections/coverage-{CIRCLE}-{MODE}/tiles/[^\"]*\?v=([0-9a-f]+)")


def stored_rows(engine, district: str) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT grid_code, residents, covered_residents FROM grid_coverage"
                " WHERE circle = :c AND mode = :m AND district_code = :d"
            ),
            {"c": CIRCLE, "m": MODE, "d": district},
        ).all()
    return {row.grid_code: row for row in rows}


def district_url(server_url: str, district: str) -> str:
    return f"{server_url}/maps/coverage?circle={CIRCLE}&mode={MODE}&district={district}"


def test_district_coverage_map_is_drawn_from_the_tiles(
    server_url, watched_page, engine, stored_district, demo_city
) -> None:
    page = watched_page.page
    response = page.goto(district_url(server_url, stored_district))
    assert response.ok
    body = response.text()
    assert page.evaluate(MAP_STATE)["polygons"] == 0  # no GeoJSON grid in the page
    assert TILE_URL.search(body), "the coverage tiles' URL carries the data version"
    state = drawn(page)
    # The district's view shows all its grids and only them (the tiles are the city's).
    grids = demo_city.grids[demo_city.grids["code"].str.startswith(stored_district)]
    assert set(state["codes"]) == set(grids["code"])
    stored = stored_rows(engine, stored_district)
    assert set(stored) == set(grids["code"])
    for code, row in stored.items():
        figures = state["figures"][code]
        assert figures["population"] == row.residents
        if row.residents:
            share = round(row.covered_residents / row.residents * 100, 1)
            assert figures["coverage_percent"] == pytest.approx(share, abs=0.1)
    watched_page.screenshot(f"map-coverage-{stored_district}-tiles")
    # Street zoom on the district's most populous grid: drawn, nothing goes wrong.
    grid = grids.sort_values("population").iloc[-1]
    point = grid.geometry.representative_point()
    page.evaluate(SET_VIEW, [point.y, point.x, 17])
    state = drawn(page)
    assert state["zoom"] == 17 and grid["code"] in state["codes"]
    watched_page.screenshot(f"map-coverage-{stored_district}-tiles-zoom17")
    watched_page.assert_clean()


def test_a_reload_takes_every_tile_from_the_browser_cache(
    server_url, browser, stored_district
) -> None:
    # No request routing here: Playwright turns the HTTP cache off on a routed page.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    outside, errors, tile_headers = [], [], {}
    page.on("request", lambda request: None if is_local(request.url) else outside.append(request))
    page.on("pageerror", lambda error: errors.append((str(error), None)))
    page.on(
        "console",
        lambda m: errors.append((m.text, m.location.get("url"))) if m.type == "error" else None,
    )
    page.on(
        "response",
        lambda response: (
            tile_headers.__setitem__(response.url, response.headers)
            if "/tiles/" in response.url
            else None
        ),
    )
    url = district_url(server_url, stored_district)
    try:
        first = page.goto(url)
        assert first.headers["cache-control"] == "no-cache" and first.headers["etag"]
        drawn(page)
        assert tile_headers, "the map asked for no tile"
        for tile_url, headers in tile_headers.items():
            assert "v=" in tile_url, tile_url  # every layer's URLs carry their data version
            assert headers["cache-control"] == "public, max-age=31536000, immutable"
        first_transfers = page.evaluate(TRANSFERS)
        assert sum(first_transfers["tiles"]) > 0
        page.goto(url)
        drawn(page)
        again = page.evaluate(TRANSFERS)
        # The page revalidated (a 304: headers only), every tile came from the cache.
        assert 0 < again["page"] < 2000
        assert again["tiles"] and all(size == 0 for size in again["tiles"])
        # (Unrouted, Chromium asks for /favicon.ico, which the service does not have.)
        errors = [text for text, at in errors if not str(at).endswith("/favicon.ico")]
        assert page.evaluate(MAP_STATE) is not None and errors == [] and outside == []
    finally:
        context.close()


def test_a_data_change_gives_the_page_new_tile_urls(
    server_url, watched_page, engine, stored_district, demo_city
) -> None:
    page = watched_page.page
    url = district_url(server_url, stored_district)
    before = TILE_URL.search(page.goto(url).text()).group(1)
    grids = demo_city.grids[demo_city.grids["code"].str.startswith(stored_district)]
    grid = grids.sort_values("population").iloc[-1]
    old = stored_rows(engine, stored_district)[grid["code"]]
    assert old.residents > 0
    changed = 0 if old.covered_residents > 0 else old.residents  # a change the map must show
    where = "WHERE circle = :c AND mode = :m AND grid_code = :g"
    values = {"c": CIRCLE, "m": MODE, "g": grid["code"]}
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE grid_coverage SET covered_residents = :v {where}"),
            {**values, "v": changed},
        )
    try:
        after = TILE_URL.search(page.goto(url).text()).group(1)
        assert after != before
        point = grid.geometry.representative_point()
        page.evaluate(SET_VIEW, [point.y, point.x, 15])
        figures = drawn(page)["figures"][grid["code"]]
        assert figures["coverage_percent"] == (0 if changed == 0 else 100)
    finally:
        with engine.begin() as connection:
            connection.execute(
                text(f"UPDATE grid_coverage SET covered_residents = :v {where}"),
                {**values, "v": old.covered_residents},
            )
    watched_page.assert_clean()
