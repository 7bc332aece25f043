"""Shared by the map tests: hand-made frames, the page's embedded data, the map's state."""

from __future__ import annotations

import json
import re
import time

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, box

MAP_STATE = """() => {
    if (!window.L) { return null; }
    const maps = Object.values(window).filter((value) => value instanceof L.Map);
    if (maps.length !== 1) { return null; }
    const map = maps[0];
    let polygons = 0, markers = 0, clusters = 0;
    map.eachLayer((layer) => {
        if (layer.feature && /Polygon/.test(layer.feature.geometry.type)) { polygons += 1; }
        if (layer instanceof L.MarkerClusterGroup) {
            clusters += 1;
            markers += layer.getLayers().length;
        }
    });
    return {polygons, markers, clusters, zoom: map.getZoom()};
}"""


def make_grids(count: int = 12) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": [f"150602001001{index:03d}" for index in range(count)],
            "name": [f"第{index:03d}网格" for index in range(count)],
            "community_name": "测试社区",
            "population": [100 * (index + 1) for index in range(count)],
            "households": [30 * (index + 1) for index in range(count)],
            "grid_workers": [1 + index % 3 for index in range(count)],
            "area_km2": 0.5,
        },
        geometry=[box(109.9 + 0.01 * i, 39.8, 109.91 + 0.01 * i, 39.81) for i in range(count)],
        crs=4326,
    )


def make_facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "type_code": ["park_square", "shop_market", "park_square"],
            "type_name": ["公园广场", "商超市场", "公园广场"],
            "name": ["人民公园", "万家超市", "滨河广场"],
        },
        geometry=[Point(109.905, 39.805), Point(109.925, 39.805), Point(109.935, 39.805)],
        crs=4326,
    )


def embedded_collections(html: str) -> list[dict]:
    """Every FeatureCollection the page adds to a GeoJSON layer."""
    return [json.loads(text) for text in re.findall(r"_add\((\{.*\})\);$", html, re.M)]


def make_coverage() -> tuple[gpd.GeoDataFrame, ...]:
    grids = make_grids(5).assign(
        coverage=[0.2, 0.6, 0.8, 0.9, np.nan], uncovered_residents=[80, 80, 60, 30, 0]
    )
    gaps = gpd.GeoDataFrame(
        {"code": grids["code"][:2], "uncovered_residents": [80, 80]},
        geometry=[box(109.9, 39.8, 109.905, 39.805), box(109.91, 39.8, 109.915, 39.805)],
        crs=4326,
    )
    areas = gpd.GeoDataFrame(
        {"type_name": ["公园广场"]}, geometry=[Point(109.905, 39.805).buffer(0.004)], crs=4326
    )
    return grids, gaps, make_facilities(), areas


def make_issues() -> gpd.GeoDataFrame:
    statuses = ["submitted", "dispatched", "resolved", "dispatched"]
    return gpd.GeoDataFrame(
        {
            "code": ["A1", "A2", "A3", "A4"],
            "category": "环境卫生",
            "status": statuses,
            "overdue": [False, True, False, True],
        },
        geometry=[Point(109.90 + 0.01 * i, 39.80) for i in range(4)],
        crs=4326,
    )


#: The circle and mode whose coverage the tiled maps' tests store (``stored_district``).
CIRCLE = "living_10min"
MODE = "euclidean"

DRAWN = """() => {
    const map = Object.values(window).find((value) => value instanceof L.Map);
    if (!map) { return null; }
    let tiles = null;
    map.eachLayer((layer) => { if (layer.gridsvcFigures) { tiles = layer; } });
    if (!tiles || tiles.isLoading() || !Object.keys(tiles._tiles).length) { return null; }
    const codes = new Set(), figures = {};
    Object.keys(tiles._tiles).forEach((key) => {
        const renderer = tiles._vectorTiles[key];
        Object.values((renderer && renderer._features) || {}).forEach((entry) => {
            const p = entry.feature.properties;
            codes.add(p.code);
            figures[p.code] = tiles.gridsvcFigures(p);
        });
    });
    const b = map.getBounds();
    return {codes: [...codes], figures, zoom: map.getZoom(),
            bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()],
            marked: document.querySelector('[data-grid-tiles-loaded]') !== null};
}"""


def drawn(page) -> dict:
    page.wait_for_timeout(300)
    deadline = time.monotonic() + 60
    while (state := page.evaluate(DRAWN)) is None and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert state is not None, "the coverage tiles did not load within 60 s"
    return state


def export(page) -> dict:
    """Click the scenario's GeoJSON export and return the file it downloads."""
    page.locator(".scenario-export").click()
    page.wait_for_function("() => window.gridsvcScenario.exported", timeout=120_000)
    return json.loads(page.evaluate("() => window.gridsvcScenario.exported"))
