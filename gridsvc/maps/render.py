"""Planners' maps from GeoDataFrames: grids, coverage and issues, as folium maps.

Pure: no database, no web framework. Each builder takes the frames its service computes
(in WGS-84), prepares them for the base map (GCJ-02 shift, rounding), composes the layers
of :mod:`gridsvc.maps.layers` and returns the map; :func:`gridsvc.maps.basemap.to_html`
turns it into an offline page.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from gridsvc.maps import layers, tiled
from gridsvc.maps.basemap import (
    CANVAS_THRESHOLD,
    RenderOptions,
    class_breaks,
    new_map,
    prepare,
)
from gridsvc.maps.controls import GridPopup, SearchBox
from gridsvc.maps.furniture import Legend

#: Measures a grids map can be coloured by: column → legend title.
GRID_MEASURES = {
    "density": "居民/km² residents per km²",
    "population": "居民 residents",
    "households": "户 households",
    "grid_workers": "网格员 grid workers",
}
GRID_TOOLTIP = {
    "code": "网格编码 code",
    "name": "网格 grid",
    "community_name": "社区 community",
    "population": "居民 residents",
    "density": "居民/km² per km²",
}
GAP_COLOR = "#67000d"
NO_RESIDENTS = "无居民 no residents"
UNKNOWN = "—"
COVERAGE_BREAKS = [0.0, 0.5, 0.7, 0.85, 0.95, 1.0]
COVERAGE_TOOLTIP = {
    "code": "网格编码 code",
    "name": "网格 grid",
    "coverage_percent": "覆盖率 coverage %",
    "uncovered_residents": "未覆盖居民 uncovered residents",
}


def bounds_of(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """West, south, east, north of all non-empty frames."""
    boxes = np.array([frame.total_bounds for frame in frames if not frame.empty])
    if boxes.size == 0:
        raise ValueError("nothing to draw: every layer is empty")
    return (
        float(boxes[:, 0].min()),
        float(boxes[:, 1].min()),
        float(boxes[:, 2].max()),
        float(boxes[:, 3].max()),
    )


def with_density(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Grids with ``density``: residents per km² of ground, rounded to whole residents."""
    area = grids["area_km2"].astype(float).where(lambda value: value > 0)
    return grids.assign(density=(grids["population"] / area).round(0))


def density_logs(grids: gpd.GeoDataFrame) -> pd.Series:
    """log10(residents per km² + 1) of each grid (0 where none live or no area)."""
    density = with_density(grids)["density"].astype(float).fillna(0).clip(lower=0)
    return np.log10(density + 1)


def alpha_top(grids: gpd.GeoDataFrame) -> float:
    """Return the log density drawn full: the 95th percentile of the grids'."""
    logs = density_logs(grids)
    return float(np.quantile(logs, 0.95)) if len(logs) else 0.0


def resident_alpha(grids: gpd.GeoDataFrame) -> pd.Series:
    """Opacity weight (0 to 1) of each grid by residents per km², on a log scale.

    Value-by-alpha: a large rural grid with a handful of residents is drawn faint, a dense
    town grid full; the 95th percentile of density and above is full. No residents: 0.
    """
    logs, top = density_logs(grids), alpha_top(grids)
    alpha = (logs / top).clip(0, 1) if top > 0 else logs * 0
    return alpha.round(2)


ALPHA_NOTE = (
    '<div class="map-legend-note">淡 = 居民少: 透明度按居民密度'
    " (fainter = fewer residents per km²)</div>"
)


def facility_names(facilities: gpd.GeoDataFrame) -> dict[str, str]:
    """Type code → type name of the facilities on a map, by code."""
    types = facilities.drop_duplicates("type_code").sort_values("type_code")
    return dict(zip(types["type_code"], types["type_name"], strict=True))


def add_facilities(
    fmap: folium.Map, facilities: gpd.GeoDataFrame, shown: set[str] | None = None
) -> dict[str, str]:
    """Facilities as one clustered layer per type in its fixed style; the types drawn.

    ``shown``: the types on at start (the circle's own); the rest wait in the layer control.
    """
    if facilities.empty:
        return {}
    names = facility_names(facilities)
    for layer in layers.facility_layers(facilities, names, shown):
        layer.add_to(fmap)
    return names


def grids_map(
    grids: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    title: str,
    options: RenderOptions,
    measure: str = "density",
) -> folium.Map:
    """Grids coloured by a measure with a classed legend; facilities clustered by type.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``community_name``, ``population``, ``households``,
        ``grid_workers``, ``area_km2`` and polygon geometry in WGS-84.
    facilities : geopandas.GeoDataFrame
        Columns ``type_code``, ``type_name``, ``name`` and point geometry in WGS-84.
    title : str
        The map's title.
    options : RenderOptions
        Base map, assets, precision.
    measure : str
        A key of :data:`GRID_MEASURES`.
    """
    if measure not in GRID_MEASURES:
        raise ValueError(f"unknown measure '{measure}'; known: {', '.join(GRID_MEASURES)}")
    grids = prepare(with_density(grids), options)
    facilities = prepare(facilities, options)
    fmap = new_map(bounds_of(grids, facilities), title, options, len(grids) > CANVAS_THRESHOLD)
    breaks = class_breaks(grids[measure])
    palette = layers.class_palette(breaks, layers.SEQUENTIAL)
    name = f"网格 grids ({len(grids):,})"
    fmap.add_child(GridPopup())
    layers.classed_polygons(
        grids, measure, breaks, palette, GRID_TOOLTIP, name, ("households", "grid_workers")
    ).add_to(fmap)
    # No circle asks for any type here: every facility layer waits in the layer control.
    add_facilities(fmap, facilities, shown=set())
    fmap.add_child(Legend(GRID_MEASURES[measure], layers.legend_entries(breaks, palette)))
    fmap.add_child(SearchBox())
    return fmap


def with_coverage_text(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Grids with ``coverage_percent`` and ``uncovered_residents`` as the tooltip shows them.

    Where coverage is unknown the tooltip reads "no residents" (a grid without residents has
    no share to cover) or "—", never "null".
    """
    percent = (grids["coverage"] * 100).round(1).astype(object)
    unknown = grids["coverage"].isna()
    residents = grids["population"] if "population" in grids else pd.Series(1, grids.index)
    empty = residents.fillna(0).eq(0)
    percent[unknown] = np.where(empty[unknown], NO_RESIDENTS, UNKNOWN)
    uncovered = grids["uncovered_residents"].astype(object)
    uncovered[grids["uncovered_residents"].isna()] = UNKNOWN
    return grids.assign(coverage_percent=percent, uncovered_residents=uncovered)


def add_gaps_and_areas(
    fmap: folium.Map, gaps: gpd.GeoDataFrame, service_areas: gpd.GeoDataFrame
) -> None:
    """Add the service areas and the gap outlines, both off at start (when there are any)."""
    if not service_areas.empty:
        layers.plain_polygons(
            service_areas,
            "服务圈 service areas",
            "#3182bd",
            {"type_name": "服务圈 service area"},
            show=False,
            fill_opacity=0.15,
        ).add_to(fmap)
    if not gaps.empty:
        tooltip = {"code": "网格 grid", "uncovered_residents": "未覆盖居民 uncovered"}
        layers.plain_polygons(
            gaps,
            f"缺口 gaps ({len(gaps):,})",
            GAP_COLOR,
            tooltip,
            show=False,
            fill_opacity=0.0,
            weight=1.5,
            dash="3 3",
        ).add_to(fmap)


def with_coverage_legend(fmap: folium.Map, facilities: gpd.GeoDataFrame) -> folium.Map:
    """Add the facilities, the legend (classes, gap outline, opacity) and the search box."""
    names = add_facilities(fmap, facilities)
    entries = layers.legend_entries(COVERAGE_BREAKS, layers.COVERAGE_COLORS, percent=True)
    gap_mark = (f"border:2px dashed {GAP_COLOR}; background:none", "缺口 gap (layer, off at start)")
    notes = ALPHA_NOTE + layers.facility_legend(names)
    fmap.add_child(Legend("覆盖率 coverage", entries, (gap_mark,), notes))
    fmap.add_child(SearchBox())
    return fmap


def coverage_map(
    grids: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    service_areas: gpd.GeoDataFrame,
    title: str,
    options: RenderOptions,
    circle: str | None = None,
) -> folium.Map:
    """Grids coloured by coverage, faint where few live; gap outlines, facilities, areas.

    What is on at start tells the truth: the classes, each grid's opacity by residents per
    km² (the legend says so), and the circle's facilities; the gaps (an outline that does
    not tint the classes) and service areas wait in the layer control.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``coverage`` (share of residents covered, 0 to 1;
        NaN where unknown) and ``uncovered_residents``, polygon geometry in WGS-84.
    gaps : geopandas.GeoDataFrame
        The uncovered parts of grids: ``code`` and ``uncovered_residents``, polygons.
    facilities : geopandas.GeoDataFrame
        As for :func:`grids_map`.
    service_areas : geopandas.GeoDataFrame
        ``type_name`` and polygon geometry; a layer shown only when switched on.
    title : str
        The map's title.
    options : RenderOptions
        Base map, assets, precision.
    circle : str, optional
        The circle's code, for the popup's coverage link.
    """
    grids = with_coverage_text(prepare(grids, options))
    grids = with_density(grids).assign(a=resident_alpha(grids))
    gaps, facilities, service_areas = (
        prepare(frame, options) for frame in (gaps, facilities, service_areas)
    )
    fmap = new_map(bounds_of(grids, facilities), title, options, len(grids) > CANVAS_THRESHOLD)
    name = f"覆盖率 coverage ({len(grids):,} grids)"
    fmap.add_child(GridPopup(circle))
    extra = ("a", "community_name", "population", "density")
    layers.classed_polygons(
        grids, "coverage", COVERAGE_BREAKS, layers.COVERAGE_COLORS, COVERAGE_TOOLTIP, name, extra
    ).add_to(fmap)
    add_gaps_and_areas(fmap, gaps, service_areas)
    return with_coverage_legend(fmap, facilities)


def tiled_coverage_map(
    grids: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    collections: tuple[str, str, str],
    title: str,
    options: RenderOptions,
    circle: str | None = None,
    district: str | None = None,
) -> folium.Map:
    """Return the coverage map with grids, gaps and service areas from the /ogc tiles.

    ``grids`` (as for :func:`coverage_map`, without coverage) give the extent, the opacity
    scale and the search index; ``collections`` are the coverage, gaps and service-area
    collection ids; with ``district`` only its grids and gaps are drawn. What is on at
    start is as on :func:`coverage_map`. Tile URLs carry ``options``' data versions.
    """
    grids = prepare(grids, options)
    facilities = prepare(facilities, options)
    fmap = new_map(bounds_of(grids, facilities), title, options, canvas=False)
    fmap.add_child(GridPopup(circle))
    coverage, gaps, areas = collections
    low, high = layers.ALPHA_RANGE
    style = {
        "kind": "coverage",
        "breaks": COVERAGE_BREAKS,
        "colors": layers.COVERAGE_COLORS,
        "missing": layers.MISSING_COLOR,
        "low": low,
        "high": high,
        "top": round(alpha_top(grids), 4),
        "noResidents": NO_RESIDENTS,
        "index": tiled.search_index(grids),
        "district": district,
    }
    ogc = options.ogc_url or "/ogc"
    name = f"覆盖率 coverage ({len(grids):,} grids)"
    version = options.tile_version
    fmap.add_child(tiled.TiledLayer(ogc, coverage, name, style, True, version("coverage")))
    area_style = {"kind": "areas", "color": "#3182bd"}
    area_name = "服务圈 service areas"
    fmap.add_child(tiled.TiledLayer(ogc, areas, area_name, area_style, False, version("areas")))
    gap_style = {"kind": "gaps", "color": GAP_COLOR, "district": district}
    fmap.add_child(tiled.TiledLayer(ogc, gaps, "缺口 gaps", gap_style, False, version("gaps")))
    return with_coverage_legend(fmap, facilities)


def issue_labels(issues: pd.DataFrame, statuses: dict[str, str] | None = None) -> pd.Series:
    """Tooltip text of each issue: code, category, status by name, and whether overdue."""
    overdue = np.where(issues["overdue"].astype(bool), " · 逾期 overdue", "")
    status = issues["status"].astype(str)
    if statuses:
        status = status.map(lambda code: statuses.get(code, code))
    return (
        issues["code"].astype(str) + " · " + issues["category"].astype(str) + " · " + status
    ) + overdue


def robust_bounds(
    issues: gpd.GeoDataFrame, extent: tuple[float, float, float, float] | None
) -> tuple[float, float, float, float]:
    """Return the view: the city's (district's) extent, never stretched by a far report.

    Without an extent, the 2nd to 98th percentile of the points (all of them when few).
    """
    if extent is not None:
        return extent
    xy = shapely.get_coordinates(issues.geometry.values)
    low, high = (2, 98) if len(xy) >= 50 else (0, 100)
    west, south = np.percentile(xy, low, axis=0)
    east, north = np.percentile(xy, high, axis=0)
    return float(west), float(south), float(east), float(north)


def issues_map(
    issues: gpd.GeoDataFrame,
    statuses: dict[str, str],
    title: str,
    options: RenderOptions,
    extent: tuple[float, float, float, float] | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Issues clustered and coloured by status, a heat map, and overdue ones on top.

    Parameters
    ----------
    issues : geopandas.GeoDataFrame
        Columns ``code`` (public id), ``category``, ``status``, ``overdue`` (bool) and
        point geometry in WGS-84.
    statuses : dict
        Status code → name, in the order the legend lists them.
    title : str
        The map's title.
    options : RenderOptions
        Base map, assets, precision.
    extent : tuple of float, optional
        West, south, east, north (WGS-84) of the city or district: the map shows it.
    boundaries : geopandas.GeoDataFrame, optional
        District outlines (``name``, polygons) drawn under the points.
    """
    issues = prepare(issues, options)
    issues = issues.assign(label=issue_labels(issues, statuses))
    if issues.empty and extent is None:
        raise ValueError("nothing to draw: no issue and no extent")
    view = robust_bounds(issues, extent) if extent is not None or not issues.empty else extent
    bounds = prepare(gpd.GeoDataFrame(geometry=[box(*view)], crs=4326), options)
    fmap = new_map(bounds_of(bounds), title, options, canvas=False)
    if boundaries is not None and not boundaries.empty:
        layers.plain_polygons(
            prepare(boundaries, options),
            "边界 boundaries",
            "#37474f",
            {"name": "旗区 district"},
            fill_opacity=0.03,
            weight=1.5,
        ).add_to(fmap)
    add_issue_layers(fmap, issues, statuses)
    return fmap


def add_issue_layers(fmap: folium.Map, issues: gpd.GeoDataFrame, statuses: dict[str, str]) -> None:
    """Add the issues clustered by status, the heat map, overdue ones on top, the legend."""
    colors = layers.category_colors(list(statuses))
    for layer in layers.clustered_points(issues, "status", "label", statuses, colors, "overdue"):
        layer.add_to(fmap)
    if not issues.empty:
        layers.heat(issues, f"热力图 heat map ({len(issues):,})").add_to(fmap)
    overdue = issues[issues["overdue"].astype(bool)]
    if not overdue.empty:
        name = f"逾期 overdue ({len(overdue):,})"
        layers.flagged_points(overdue, "label", name, "#ff0000").add_to(fmap)
    overdue_mark = ("border:3px solid #b30000; border-radius:50%", "逾期 overdue")
    fmap.add_child(layers.category_legend("状态 status", statuses, colors, (overdue_mark,)))
