"""The maps in a real browser: headless Chromium against a running gridsvc, no internet."""

from __future__ import annotations

import re

import pytest
import shapely

from gridsvc.coverage.circles import load_circles
from tests.maps.helpers import MAP_STATE

CIRCLE_10MIN = load_circles()["living_10min"].facility_types

GAPS = """() => {
    const map = Object.values(window).find((value) => value instanceof L.Map);
    let gaps = 0;
    map.eachLayer((layer) => {
        if (layer.feature && !("coverage_percent" in layer.feature.properties)) { gaps += 1; }
    });
    return gaps;
}"""

SCREEN_POINT = """([lat, lon, zoom]) => {
    const map = Object.values(window).find((value) => value instanceof L.Map);
    if (zoom) { map.setView([lat, lon], zoom, {animate: false}); }
    const point = map.latLngToContainerPoint([lat, lon]);
    const box = map.getContainer().getBoundingClientRect();
    return [box.left + point.x, box.top + point.y];
}"""


def open_map(watched, url: str) -> dict:
    page = watched.page
    page.goto(url, wait_until="load")
    page.wait_for_function(f"({MAP_STATE})() && ({MAP_STATE})().polygons > 0", timeout=60_000)
    return page.evaluate(MAP_STATE)


def district_facilities(demo_city, code: str) -> int:
    outline = demo_city.districts.set_index("code").geometry[code]
    return int(shapely.intersects(outline, demo_city.facilities.geometry.values).sum())


def circle_types_in(demo_city, code: str, types: tuple[str, ...]) -> set[str]:
    outline = demo_city.districts.set_index("code").geometry[code]
    facilities = demo_city.facilities
    inside = facilities[shapely.intersects(outline, facilities.geometry.values)]
    return set(inside["type_code"]) & set(types)


def hide_overlays_but(watched, keep: str) -> None:
    labels = watched.page.locator(".leaflet-control-layers-overlays label")
    for index in range(labels.count()):
        label = labels.nth(index)
        if keep not in label.inner_text():
            label.locator("input").uncheck()


def hide_overlays_but_grids(watched) -> None:
    hide_overlays_but(watched, "grids")


def hover_grid(watched, demo_city, code: str, zoom: int | None = None) -> str:
    grid = demo_city.grids.set_index("code").geometry[code]
    inside = grid.representative_point()
    x, y = watched.page.evaluate(SCREEN_POINT, [inside.y, inside.x, zoom])
    watched.page.mouse.move(x, y)
    tooltip = watched.page.locator(".leaflet-tooltip")
    tooltip.first.wait_for(state="visible", timeout=10_000)
    return tooltip.first.inner_text()


def show_all_overlays(watched) -> None:
    inputs = watched.page.locator(".leaflet-control-layers-overlays label input")
    for index in range(inputs.count()):
        inputs.nth(index).check()


def test_district_grids_map(server_url, watched_page, demo_city) -> None:
    code = demo_city.districts["code"].iloc[0]
    grids = demo_city.grids[demo_city.grids["code"].str.startswith(code)]
    state = open_map(watched_page, f"{server_url}/maps/grids?district={code}")
    assert state["polygons"] == len(grids)
    # No circle asks for any facility type here: every facility layer is off at start.
    assert state["markers"] == 0 and state["clusters"] == 0
    page = watched_page.page
    assert page.locator(".map-legend .map-legend-class").count() >= 3
    assert "residents per km²" in page.locator(".map-legend").inner_text()
    show_all_overlays(watched_page)
    assert page.evaluate(MAP_STATE)["markers"] == district_facilities(demo_city, code)
    assert page.locator(".facility-cluster").count() > 0
    watched_page.screenshot(f"map-grids-{code}")
    # Switch the facility layers off: only the grids' SVG paths stay, one per grid.
    hide_overlays_but_grids(watched_page)
    assert page.locator(".facility-cluster").count() == 0
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == len(grids)
    grid = grids.iloc[len(grids) // 2]
    text = hover_grid(watched_page, demo_city, grid["code"])
    assert grid["code"] in text and grid["name"] in text
    # Street zoom: neighbours still meet (no white slivers), and nothing goes wrong.
    text = hover_grid(watched_page, demo_city, grid["code"], zoom=17)
    assert grid["code"] in text and page.evaluate(MAP_STATE)["zoom"] == 17
    watched_page.screenshot(f"map-grids-{code}-zoom17")
    watched_page.assert_clean()


@pytest.mark.full_city
def test_full_city_grids_map(full_city_server_url, watched_page, full_demo_city) -> None:
    state = open_map(watched_page, f"{full_city_server_url}/maps/grids")
    assert state["polygons"] == len(full_demo_city.grids) == 6702
    assert state["markers"] == 0  # facility layers wait in the layer control
    show_all_overlays(watched_page)
    state = watched_page.page.evaluate(MAP_STATE)
    assert state["markers"] == len(full_demo_city.facilities)
    assert state["clusters"] == full_demo_city.facilities["type_code"].nunique()
    watched_page.screenshot("map-grids-city")
    hide_overlays_but_grids(watched_page)
    grid = full_demo_city.grids.iloc[1234]
    text = hover_grid(watched_page, full_demo_city, grid["code"], zoom=14)
    assert grid["code"] in text
    assert f"{int(grid['population']):,}" in text  # the tooltip localizes numbers
    watched_page.screenshot("map-grids-city-tooltip")
    watched_page.assert_clean()


def test_district_coverage_map(server_url, watched_page, demo_city) -> None:
    code = demo_city.districts["code"].iloc[1]
    grids = demo_city.grids[demo_city.grids["code"].str.startswith(code)]
    url = f"{server_url}/maps/coverage?district={code}&mode=euclidean&circle=living_10min"
    state = open_map(watched_page, url)
    # At start: the classes, faint where few live, and the circle's facilities; no gaps.
    assert watched_page.page.evaluate(GAPS) == 0
    assert state["polygons"] == len(grids)
    assert state["clusters"] == len(circle_types_in(demo_city, code, CIRCLE_10MIN))
    legend = watched_page.page.locator(".map-legend").inner_text()
    assert "coverage" in legend and "95%" in legend and "gap" in legend
    assert "fewer residents per km²" in legend
    scale = watched_page.page.locator(".leaflet-control-scale").inner_text()
    assert re.search(r"\d+ k?m", scale) and " mi" not in scale and " ft" not in scale
    watched_page.screenshot(f"map-coverage-{code}")
    watched_page.page.locator(".leaflet-control-layers-overlays label", has_text="gaps").locator(
        "input"
    ).check()
    gaps = watched_page.page.evaluate(GAPS)
    assert gaps > 0 and watched_page.page.evaluate(MAP_STATE)["polygons"] == len(grids) + gaps
    watched_page.screenshot(f"map-coverage-{code}-gaps")
    hide_overlays_but(watched_page, "coverage")
    grid = grids.iloc[len(grids) // 3]
    text = hover_grid(watched_page, demo_city, grid["code"], zoom=14)
    assert grid["code"] in text and "coverage %" in text and "uncovered residents" in text
    watched_page.assert_clean()


def test_full_city_coverage_map(server_url, watched_page, demo_city) -> None:
    # Nothing stored: computed live and sent as GeoJSON (test_maps_tiled_browser stores
    # coverage and checks the map drawn from the tiles).
    url = f"{server_url}/maps/coverage?mode=euclidean&circle=living_10min"
    state = open_map(watched_page, url)
    assert state["polygons"] == len(demo_city.grids)
    watched_page.screenshot("map-coverage-city")
    watched_page.assert_clean()


def test_maps_index_links_open(server_url, watched_page, demo_city) -> None:
    page = watched_page.page
    page.goto(f"{server_url}/maps")
    assert page.locator('a[href^="/maps/grids"]').count() == 1 + len(demo_city.districts)
    assert page.locator('a[href^="/maps/coverage?circle="]').count() >= 1
    page.locator("a").nth(1).click()
    page.wait_for_url("**/maps/grids?district=*")
    page.wait_for_function(f"({MAP_STATE})() && ({MAP_STATE})().polygons > 0")
    watched_page.assert_clean()


def test_swagger_ui_offline(server_url, watched_page) -> None:
    page = watched_page.page
    page.goto(f"{server_url}/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "gridsvc" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 5
    watched_page.screenshot("docs")
    watched_page.assert_clean()
