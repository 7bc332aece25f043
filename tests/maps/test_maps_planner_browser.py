"""What a planner sees in Chromium: one style per facility type, search, phones, zoom 17."""

from __future__ import annotations

import re

import pytest

from gridsvc.maps.palette import facility_style
from tests.maps.helpers import MAP_STATE

FILL = re.compile(r'fill="(#[0-9a-f]{6})"')
TYPE = "park_square"
TYPE_NAME = "公园广场"


def open_map(page, url: str) -> dict:
    page.goto(url, wait_until="load")
    page.wait_for_function(f"({MAP_STATE})() && ({MAP_STATE})().polygons > 0", timeout=90_000)
    return page.evaluate(MAP_STATE)


def type_fill(page, name: str) -> str:
    """The fill of a facility type's symbol in the layer control."""
    label = page.locator(".leaflet-control-layers-overlays label", has_text=name)
    match = FILL.search(label.inner_html())
    assert match, label.inner_html()
    return match.group(1)


def test_a_facility_type_keeps_its_colour_across_maps(server_url, watched_page, demo_city) -> None:
    code = demo_city.districts["code"].iloc[0]
    page = watched_page.page
    open_map(page, f"{server_url}/maps/grids?district={code}")
    on_grids = type_fill(page, TYPE_NAME)
    open_map(page, f"{server_url}/maps/coverage?district={code}&circle=living_5min")
    on_coverage = type_fill(page, TYPE_NAME)
    assert on_grids == on_coverage == facility_style(TYPE).color
    # The markers on the map carry the same fill as the layer control says.
    page.evaluate(
        """() => { const map = Object.values(window).find((v) => v instanceof L.Map);
        map.setZoom(17, {animate: false}); }"""
    )
    watched_page.screenshot(f"map-coverage-{code}-facilities")
    watched_page.assert_clean()


def test_search_finds_a_grid_by_code_and_by_name(server_url, watched_page, demo_city) -> None:
    code = demo_city.districts["code"].iloc[2]
    grids = demo_city.grids[demo_city.grids["code"].str.startswith(code)]
    grid = grids.iloc[len(grids) // 2]
    page = watched_page.page
    open_map(page, f"{server_url}/maps/coverage?district={code}&circle=living_10min")
    box = page.locator(".map-search input")
    box.fill(grid["code"])
    box.press("Enter")
    popup = page.locator(".leaflet-popup-content").last  # the one before may still fade
    popup.wait_for(state="visible", timeout=10_000)
    text = popup.inner_text()
    assert grid["code"] in text and grid["name"] in text and "coverage" in text
    assert popup.locator(f'a[href="/api/v1/grids/{grid["code"]}"]').count() == 1
    watched_page.screenshot(f"map-search-{grid['code']}")
    box.fill(grid["name"])
    hits = page.locator(".map-search-hit")
    hits.first.wait_for(timeout=10_000)
    named = [hits.nth(index).inner_text() for index in range(hits.count())]
    assert any(grid["name"] in hit and grid["code"] in hit for hit in named) or len(named) == 10
    assert all(hit.startswith(("网格", "设施")) for hit in named) and len(named) <= 10
    hits.first.click()
    popup.wait_for(state="visible", timeout=10_000)
    assert grid["name"] in popup.inner_text() or len(named) == 10
    watched_page.assert_clean()


@pytest.mark.parametrize("where", ["city", "district", "zoom17"])
def test_coverage_map_on_a_phone(server_url, browser, demo_city, where) -> None:
    from tests.maps.conftest import ARTIFACTS, is_local

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    outside, errors = [], []
    page.route(
        "**/*",
        lambda route, request: (
            route.continue_()
            if is_local(request.url)
            else (outside.append(request.url), route.abort())
        ),
    )
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    code = demo_city.districts["code"].iloc[0]
    url = f"{server_url}/maps/coverage?circle=living_10min&mode=euclidean"
    if where != "city":
        url += f"&district={code}"
    open_map(page, url)
    # On a 390-px phone the layer control is folded into its button.
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    assert page.locator(".leaflet-control-layers-toggle").is_visible()
    if where == "zoom17":
        grids = demo_city.grids[demo_city.grids["code"].str.startswith(code)]
        point = grids.geometry.iloc[0].representative_point()
        page.evaluate(
            """([lat, lon]) => { const map = Object.values(window).find((v) => v instanceof L.Map);
            map.setView([lat, lon], 17, {animate: false}); }""",
            [point.y, point.x],
        )
        page.wait_for_timeout(300)
        assert page.evaluate(MAP_STATE)["zoom"] == 17
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map-coverage-phone-{where}.png"))
    context.close()
    assert outside == [] and errors == []
