"""Pure rendering on hand-made GeoDataFrames: no database, no server."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridsvc.common.coords import wgs84_to_gcj02
from gridsvc.maps import assets, render
from gridsvc.maps.basemap import (
    RenderOptions,
    base_tiles,
    class_breaks,
    classify,
    prepare,
    to_html,
)
from tests.maps.helpers import (
    embedded_collections,
    make_coverage,
    make_facilities,
    make_grids,
    make_issues,
)

OPTIONS = RenderOptions()
LINK = re.compile(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"')


def test_grids_map_is_offline_and_complete() -> None:
    html = to_html(render.grids_map(make_grids(), make_facilities(), "测试", OPTIONS), OPTIONS)
    links = LINK.findall(html)
    assert links and all(link.startswith("/static/") for link in links)
    assert "http://" not in html and "https://" not in html
    (grids,) = embedded_collections(html)
    assert [item["properties"]["code"] for item in grids["features"]] == list(make_grids()["code"])
    assert {"code", "name", "population", "density", "k"} <= set(grids["features"][0]["properties"])
    assert html.count("L.markerClusterGroup(") == 2  # one per facility type
    assert "map-legend" in html and "<title>测试</title>" in html


def test_grids_are_coloured_by_class_of_the_measure() -> None:
    fmap = render.grids_map(make_grids(), make_facilities(), "t", OPTIONS, measure="population")
    (grids,) = embedded_collections(to_html(fmap, OPTIONS))
    classes = [item["properties"]["k"] for item in grids["features"]]
    assert classes == sorted(classes) and classes[0] == 0 and classes[-1] >= 3


def test_unknown_measure_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown measure"):
        render.grids_map(make_grids(), make_facilities(), "t", OPTIONS, measure="beauty")


def test_class_breaks_cover_every_value() -> None:
    values = np.arange(1, 1001)
    breaks = class_breaks(values, 5)
    assert breaks[0] == 1 and breaks[-1] == 1000 and breaks == sorted(breaks)
    assert len(breaks) == 6
    classes = classify(values, breaks)
    assert classes.min() == 0 and classes.max() == 4
    assert np.bincount(classes).min() > 150  # quantiles: about 200 in each
    assert list(classify([np.nan, 1000], breaks)) == [-1, 4]
    assert class_breaks([5, 5, 5]) == [5.0, 5.0]


def test_gcj02_base_map_shifts_the_data() -> None:
    options = RenderOptions(tiles=base_tiles("amap"))
    shifted = prepare(make_facilities(), options)
    lon, lat = wgs84_to_gcj02(109.905, 39.805)
    assert shifted.geometry.iloc[0].x == pytest.approx(lon, abs=1e-5)
    assert shifted.geometry.iloc[0].y == pytest.approx(lat, abs=1e-5)
    assert shifted.geometry.iloc[0].distance(Point(109.905, 39.805)) > 0.001  # hundreds of m
    unshifted = prepare(make_facilities(), OPTIONS)
    assert unshifted.geometry.iloc[0].equals(Point(109.905, 39.805))


def test_base_tiles_setting() -> None:
    assert base_tiles("none").url is None
    assert base_tiles("OSM").crs == "wgs84"
    assert base_tiles("amap").crs == "gcj02"
    local = base_tiles("http://127.0.0.1:8080/{z}/{x}/{y}.png", "gcj-02")
    assert local.url.startswith("http://127.0.0.1") and local.crs == "gcj02"
    with pytest.raises(ValueError, match="XYZ URL"):
        base_tiles("google")
    html = to_html(render.grids_map(make_grids(), make_facilities(), "t", OPTIONS), OPTIONS)
    assert "L.tileLayer" not in html
    options = RenderOptions(tiles=local)
    html = to_html(render.grids_map(make_grids(), make_facilities(), "t", options), options)
    assert "http://127.0.0.1:8080/{z}/{x}/{y}.png" in html


def test_coordinates_are_rounded() -> None:
    grids = make_grids(1).set_geometry([box(109.123456789, 39.1, 109.2, 39.2)])
    assert prepare(grids, OPTIONS).geometry.iloc[0].bounds[0] == 109.12346


def test_unknown_asset_is_refused_never_left_on_a_cdn() -> None:
    fmap = folium.Map(tiles=None)
    fmap.default_js = [*fmap.default_js, ("vega", "https://cdn.jsdelivr.net/npm/vega@5")]
    with pytest.raises(assets.AssetError, match="vega"):
        assets.localize(fmap, "/static")
    assert all(url.startswith("https://") for _, url in folium.Map.default_js)  # untouched


def test_written_maps_use_a_relative_asset_folder() -> None:
    options = RenderOptions(static_url="static")
    html = to_html(render.grids_map(make_grids(), make_facilities(), "t", options), options)
    assert all(link.startswith("static/") for link in LINK.findall(html))


def test_coverage_map_layers() -> None:
    fmap = render.coverage_map(*make_coverage(), "覆盖", OPTIONS)
    html = to_html(fmap, OPTIONS)
    grids, areas, gaps = embedded_collections(html)
    assert [item["properties"]["k"] for item in grids["features"]] == [0, 1, 2, 3, -1]
    assert grids["features"][0]["properties"]["coverage_percent"] == 20.0
    assert len(gaps["features"]) == 2 and len(areas["features"]) == 1
    # Service areas are a layer to switch on: created but not added at start.
    layer = next(
        child
        for child in fmap._children.values()
        if "service areas" in str(getattr(child, "layer_name", ""))
    )
    assert layer.show is False
    assert "https://" not in html and "http://" not in html


def test_issues_map_clusters_by_status_with_heat_and_overdue() -> None:
    statuses = {"submitted": "已受理", "dispatched": "已派遣", "resolved": "已办结"}
    html = to_html(render.issues_map(make_issues(), statuses, "事件", OPTIONS), OPTIONS)
    assert html.count("L.markerClusterGroup(") == 3
    assert "L.heatLayer(" in html and "/static/folium/leaflet_heat.min.js" in html
    (overdue,) = embedded_collections(html)
    assert sorted(item["properties"]["label"] for item in overdue["features"]) == [
        "A2 · 环境卫生 · 已派遣 · 逾期 overdue",
        "A4 · 环境卫生 · 已派遣 · 逾期 overdue",
    ]
    assert "overdue (2)" in html  # the overdue layer's name in the layer control
    assert "https://" not in html and "http://" not in html


def test_issues_map_fits_the_city_not_a_far_report_and_draws_boundaries() -> None:
    issues = make_issues()
    far = issues.iloc[[0]].set_geometry([Point(125.0, 45.0)], crs=4326).assign(code="FAR")
    issues = pd.concat([issues, far], ignore_index=True)
    statuses = {"submitted": "已受理", "dispatched": "已派遣", "resolved": "已办结"}
    city = (109.85, 39.75, 110.0, 39.85)
    outline = gpd.GeoDataFrame({"name": ["测试旗"]}, geometry=[box(*city)], crs=4326)
    fmap = render.issues_map(issues, statuses, "事件", OPTIONS, city, outline)
    html = to_html(fmap, OPTIONS)
    assert "fitBounds([[39.75, 109.85], [39.85, 110.0]]" in html
    collections = embedded_collections(html)
    assert collections[0]["features"][0]["properties"]["name"] == "测试旗"  # drawn first
    # Without an extent, many points: the percentiles, not the far one, set the view.
    many = pd.concat([make_issues()] * 20 + [far], ignore_index=True)
    west, south, east, north = render.robust_bounds(many, None)
    assert east < 110 and north < 40


def test_names_are_escaped_for_the_tooltips() -> None:
    facilities = make_facilities()
    facilities.loc[0, "name"] = "<img src=x onerror=alert(1)>"
    grids = make_grids(2)
    grids.loc[0, "name"] = "<b>网格</b>"
    html = to_html(render.grids_map(grids, facilities, "t", OPTIONS), OPTIONS)
    # The page's JSON escapes <, > and & once more (\u003c, \u0026): decoded, the text the
    # browser gets is entity-escaped, so a tooltip shows it instead of running it.
    assert json.dumps("&lt;img src=x onerror=alert(1)&gt;")[1:-1].replace("&", "\\u0026") in html
    (collection,) = embedded_collections(html)
    assert collection["features"][0]["properties"]["name"] == "&lt;b&gt;网格&lt;/b&gt;"


def test_unknown_coverage_reads_no_residents_or_a_dash_never_null() -> None:
    grids, gaps, facilities, areas = make_coverage()
    grids.loc[3, "uncovered_residents"] = np.nan
    grids.loc[4, "population"] = 0  # coverage NaN: no residents to cover
    grids = pd.concat([grids, grids.iloc[[1]].assign(code="X", coverage=np.nan)])  # unknown
    html = to_html(render.coverage_map(grids, gaps, facilities, areas, "t", OPTIONS), OPTIONS)
    (collection, *_) = embedded_collections(html)
    shown = {item["properties"]["code"]: item["properties"] for item in collection["features"]}
    assert shown[grids["code"].iloc[4]]["coverage_percent"] == render.NO_RESIDENTS
    assert shown["X"]["coverage_percent"] == "—" and shown["X"]["k"] == -1
    assert shown[grids["code"].iloc[3]]["uncovered_residents"] == "—"
    assert shown[grids["code"].iloc[0]]["coverage_percent"] == 20.0
    assert "null" not in json.dumps(list(shown.values()))
