"""The report page's pin map with no tile server: boundaries, names and streets from /ogc.

Chromium on a phone: at the page's city view and at zoom 17 by the resident's position the
reference layers are drawn (asked of the page's Leaflet objects), the names are the demo
city's own, nothing loads from outside and the console stays clean.
"""

from __future__ import annotations

import time

from shapely.geometry import box

from tests.residents.conftest import Phone

DRAWN = """() => {
    const r = window.GridsvcReference && window.GridsvcReference.handles[0];
    if (!r || r.outlines.isLoading() || r.streets.isLoading() ||
        !Object.keys(r.outlines._tiles).length) { return null; }
    const paths = (layer) => Object.values(layer._tiles).reduce(
        (sum, tile) => sum + tile.el.querySelectorAll('path').length, 0);
    const b = r.map.getBounds(), labels = {};
    r.labelNames().forEach((p) => { (labels[p.level] = labels[p.level] || []).push(p.name); });
    return {zoom: r.map.getZoom(), outlines: paths(r.outlines), streets: paths(r.streets),
            labels, bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]};
}"""


def drawn(phone: Phone) -> dict:
    phone.page.wait_for_timeout(300)
    deadline = time.monotonic() + 60
    while (state := phone.page.evaluate(DRAWN)) is None and time.monotonic() < deadline:
        phone.page.wait_for_timeout(200)
    assert state is not None, "the reference tiles did not load within 60 s"
    return state


def test_report_map_draws_the_city_from_its_own_tiles(phone, site, demo_city) -> None:
    page = phone.page
    page.goto(f"{site}/report")
    page.wait_for_selector("body[data-ready=true]")
    # Zoomed out to see the whole city on the phone: outlines and district names.
    page.evaluate("() => window.GridsvcReference.handles[0].map.setZoom(7, {animate: false})")
    city = drawn(phone)
    assert city["outlines"] > 0
    # Labels come with whole tiles, which reach past the screen's edge (at most a tile).
    west, south, east, north = city["bounds"]
    view = box(west, south, east, north).buffer(max(east - west, north - south))
    named = set(city["labels"].get("district", []))
    in_view = demo_city.districts[demo_city.districts.intersects(view)]
    assert len(named) >= len(demo_city.districts) // 2 and named <= set(in_view["name"])
    phone.screenshot("report-map-city")
    # Locate me: zoom 17 by the resident, where the walking network is drawn as streets.
    page.locator("#locate").click()
    page.wait_for_function(
        "() => window.GridsvcReference.handles[0].map.getZoom() === 17", timeout=20_000
    )
    # ...and on a street of the walking network there.
    edges = demo_city.network_edges
    near = edges[edges.intersects(box(*drawn(phone)["bounds"]).buffer(0.01))]
    middle = (near if len(near) else edges).geometry.iloc[0].interpolate(0.5, normalized=True)
    page.evaluate(
        "([lat, lon]) => window.GridsvcReference.handles[0].map.setView([lat, lon], 17)",
        [middle.y, middle.x],
    )
    street = drawn(phone)
    edges = demo_city.network_edges[demo_city.network_edges.intersects(box(*street["bounds"]))]
    assert len(edges) > 0 and street["streets"] > 0
    phone.screenshot("report-map-zoom17")
    phone.assert_clean()
