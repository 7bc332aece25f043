"""Reference layers in Chromium: boundaries, names and streets from the service's own tiles.

At city, district and street zoom the page's Leaflet objects are asked what they drew (SVG
paths per VectorGrid tile, label markers by level); the names are checked against the demo
city's own frames, and nothing may load from outside the machine.
"""

from __future__ import annotations

import time

from shapely.geometry import box

from tests.maps.helpers import MAP_STATE

REFERENCE = """() => {
    const map = Object.values(window).find((value) => value instanceof L.Map);
    const r = map && map.gridsvcReference;
    if (!r || r.outlines.isLoading() || r.streets.isLoading() ||
        !Object.keys(r.outlines._tiles).length) { return null; }
    const paths = (layer) => Object.values(layer._tiles).reduce(
        (sum, tile) => sum + tile.el.querySelectorAll('path').length, 0);
    const b = map.getBounds();
    const labels = {};
    r.labelNames().forEach((p) => { (labels[p.level] = labels[p.level] || []).push(p.name); });
    return {zoom: map.getZoom(), outlines: paths(r.outlines), streets: paths(r.streets), labels,
            bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]};
}"""


def reference(page) -> dict:
    """What the reference layers drew once every tile in view has loaded."""
    page.wait_for_timeout(300)  # let a move's tile requests start
    # Polled from here: the page's CSP refuses the eval a wait_for_function would need.
    deadline = time.monotonic() + 60
    while (drawn := page.evaluate(REFERENCE)) is None and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert drawn is not None, "the reference tiles did not load within 60 s"
    return drawn


def open_map(page, url: str) -> dict:
    page.goto(url, wait_until="load")
    page.wait_for_function(f"({MAP_STATE})() && ({MAP_STATE})().polygons > 0", timeout=90_000)
    return reference(page)


def test_city_map_names_every_district(server_url, watched_page, demo_city) -> None:
    drawn = open_map(watched_page.page, f"{server_url}/maps/grids")
    assert drawn["outlines"] > 0  # district (and street) outlines
    assert sorted(drawn["labels"]["district"]) == sorted(demo_city.districts["name"])
    assert "community" not in drawn["labels"]  # communities only from zoom 12
    watched_page.screenshot("map-reference-city")
    watched_page.assert_clean()


def test_district_map_names_its_streets(server_url, watched_page, demo_city) -> None:
    code = demo_city.districts["code"].iloc[0]
    drawn = open_map(watched_page.page, f"{server_url}/maps/coverage?district={code}")
    assert drawn["zoom"] >= 10 and drawn["outlines"] > 0
    streets = demo_city.streets[demo_city.streets["code"].str.startswith(code)]
    street_labels = set(drawn["labels"].get("street", []))
    assert set(streets["name"]) <= street_labels
    # Every street named lies near the view (labels come with whole tiles, which reach
    # past the screen's edge): nothing from elsewhere.
    west, south, east, north = drawn["bounds"]
    view = box(west, south, east, north).buffer(max(east - west, north - south) / 2)
    in_view = demo_city.streets[demo_city.streets.intersects(view)]
    assert street_labels <= set(in_view["name"])
    watched_page.screenshot(f"map-reference-{code}")
    watched_page.assert_clean()


def test_street_zoom_draws_the_walking_network(server_url, watched_page, demo_city) -> None:
    code = demo_city.districts["code"].iloc[0]
    grids = demo_city.grids[demo_city.grids["code"].str.startswith(code)]
    dense = grids.assign(density=grids["population"] / grids.to_crs(3857).area)
    grid = dense.sort_values("density").iloc[-1]
    point = grid.geometry.representative_point()
    page = watched_page.page
    open_map(page, f"{server_url}/maps/grids?district={code}")
    page.evaluate(
        """([lat, lon]) => { const map = Object.values(window).find((v) => v instanceof L.Map);
        map.setView([lat, lon], 17, {animate: false}); }""",
        [point.y, point.x],
    )
    drawn = reference(page)
    assert drawn["zoom"] == 17
    edges = demo_city.network_edges[demo_city.network_edges.intersects(box(*drawn["bounds"]))]
    assert len(edges) > 0 and drawn["streets"] >= len(edges) // 2
    # The community the grid is in is outlined or named: the planner knows where they are.
    communities = demo_city.communities[demo_city.communities.intersects(box(*drawn["bounds"]))]
    assert drawn["outlines"] > 0 or set(drawn["labels"].get("community", [])) & set(
        communities["name"]
    )
    # The data go see-through at street zoom so the streets under them read.
    assert page.evaluate("() => document.querySelector('.leaflet-overlay-pane').style.opacity")
    watched_page.screenshot(f"map-reference-{code}-zoom17")
    watched_page.assert_clean()
