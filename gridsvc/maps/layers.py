"""Map layers built from prepared GeoDataFrames: classed polygons, clustered points, heat.

Pure: each function takes data already prepared by :func:`gridsvc.maps.basemap.prepare`
and returns folium layers. Styling happens in the browser from one small palette and a
class index per feature, so a city of thousands of grids carries no per-feature style.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from folium.plugins import FastMarkerCluster, HeatMap
from folium.template import Template
from folium.utilities import JsCode

from gridsvc.maps.basemap import classify, feature_collection, js_array, plain
from gridsvc.maps.furniture import Legend
from gridsvc.maps.palette import facility_style

#: Sequential palette (ColorBrewer YlOrRd) for "more is darker" measures.
SEQUENTIAL = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026", "#800026", "#4d0015"]
#: Diverging red → green for coverage: low coverage is the planner's problem.
COVERAGE_COLORS = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]
#: Distinct colours for categories (facility types, issue statuses).
CATEGORICAL = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
]
MISSING_COLOR = "#cccccc"


def format_value(value: float) -> str:
    """Return a legend number: thousands separated, at most two decimals."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def legend_entries(
    breaks: list[float], palette: list[str], percent: bool = False
) -> list[tuple[str, str]]:
    """One ``(colour, "low – high")`` entry per class."""

    def label(value: float) -> str:
        return f"{value * 100:.0f}%" if percent else format_value(value)

    return [
        (palette[index], f"{label(low)} – {label(high)}")
        for index, (low, high) in enumerate(zip(breaks[:-1], breaks[1:], strict=True))
    ]


def class_palette(breaks: list[float], palette: list[str]) -> list[str]:
    """``palette`` stretched or cut to the number of classes of ``breaks``."""
    classes = len(breaks) - 1
    if classes >= len(palette):
        return palette[:classes]
    positions = np.linspace(0, len(palette) - 1, classes).round().astype(int)
    return [palette[position] for position in positions]


#: Fill opacity of the faintest and of the fullest grid when opacity carries a value.
ALPHA_RANGE = (0.12, 0.85)


def class_style(palette: list[str], line_color: str = "#555555") -> JsCode:
    """Leaflet style function reading the class index ``k`` of each feature.

    A feature's ``a`` (0 to 1), when present, sets its fill opacity (value-by-alpha: grids
    where few people live are drawn fainter, so the eye goes where people are).
    """
    low, high = ALPHA_RANGE
    return JsCode(
        f"function(feature) {{ var colors = {js_array(palette)}; var p = feature.properties;"
        f" var k = p.k; var a = (p.a === undefined || p.a === null) ? 1 : p.a;"
        f" return {{fillColor: k >= 0 ? colors[k] : {js_array(MISSING_COLOR)},"
        f" fillOpacity: {low} + {high - low} * a, color: {js_array(line_color)},"
        f" weight: 0.5, opacity: 0.3 + 0.5 * a}}; }}"
    )


HIGHLIGHT = JsCode(
    "function(feature, layer) { layer.on({"
    " mouseover: function(e) { e.target.setStyle({weight: 2.5, color: '#111'});"
    " if (e.target.bringToFront) { e.target.bringToFront(); } },"
    " mouseout: function(e) { e.target.setStyle({weight: 0.5, color: '#555555'}); } });"
    " layer.bindPopup(function() { return window.gridPopup ?"
    " window.gridPopup(feature.properties) : ''; }); }"
)


def classed_polygons(
    frame: gpd.GeoDataFrame,
    column: str,
    breaks: list[float],
    palette: list[str],
    tooltip: dict[str, str],
    name: str,
    extra: tuple[str, ...] = (),
) -> folium.GeoJson:
    """Polygons filled by the class of ``column``, with a tooltip of ``tooltip`` fields.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Prepared polygons; ``column`` and the tooltip's columns among its columns.
    column : str
        The measure that decides the colour.
    breaks : list of float
        Class edges (see :func:`gridsvc.maps.basemap.class_breaks`).
    palette : list of str
        One colour per class.
    tooltip : dict
        Column → label of the fields the tooltip shows, in order.
    name : str
        The layer's name in the layer control.
    extra : tuple of str
        More columns to carry (``a`` for opacity, the popup's figures).
    """
    frame = frame.assign(k=classify(frame[column], breaks))
    data = feature_collection(frame, list(dict.fromkeys([*tooltip, "k", *extra])))
    return folium.GeoJson(
        data,
        name=name,
        style=class_style(palette),
        on_each_feature=HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(
            fields=list(tooltip), aliases=list(tooltip.values()), localize=True, sticky=True
        ),
    )


def plain_polygons(
    frame: gpd.GeoDataFrame,
    name: str,
    color: str,
    tooltip: dict[str, str] | None = None,
    show: bool = True,
    fill_opacity: float = 0.35,
    weight: float = 1,
    dash: str | None = None,
    interactive: bool = True,
) -> folium.GeoJson:
    """Polygons in one colour (gaps, service areas, district outlines).

    ``fill_opacity=0`` with a ``dash`` draws an outline that leaves the classes under it
    untinted (the gaps layer).
    """
    columns = list(tooltip or {})
    return folium.GeoJson(
        feature_collection(frame, columns),
        name=name,
        show=show,
        interactive=interactive,
        style=JsCode(
            f"function() {{ return {{color: {js_array(color)}, weight: {weight},"
            f" dashArray: {js_array(dash)}, fillColor: {js_array(color)},"
            f" fillOpacity: {fill_opacity}}}; }}"
        ),
        tooltip=(
            folium.GeoJsonTooltip(fields=columns, aliases=list(tooltip.values()), localize=True)
            if tooltip
            else None
        ),
    )


def category_colors(categories: list[str]) -> dict[str, str]:
    """Return a fixed colour per category, in the order given."""
    return {code: CATEGORICAL[index % len(CATEGORICAL)] for index, code in enumerate(categories)}


POINT_CALLBACK = """function(row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {
        radius: row[4] ? 9 : 6, color: row[4] ? '#b30000' : '#ffffff',
        weight: row[4] ? 3 : 1.5, fillColor: row[3], fillOpacity: 0.9});
    marker.bindTooltip(row[2]);
    return marker;
}"""


def clustered_points(
    frame: gpd.GeoDataFrame,
    category: str,
    label: str,
    names: dict[str, str],
    colors: dict[str, str],
    flag: str | None = None,
) -> list[FastMarkerCluster]:
    """One clustered marker layer per category, each a coloured circle with a tooltip.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Prepared points.
    category : str
        Column holding each point's category (facility type, issue status).
    label : str
        Column holding each point's tooltip text.
    names : dict
        Category → name shown in the layer control.
    colors : dict
        Category → colour.
    flag : str, optional
        Boolean column; flagged points are drawn larger with a red ring (overdue issues).
    """
    layers = []
    for code, group in frame.groupby(category, sort=False):
        flags = group[flag].astype(bool) if flag else np.zeros(len(group), dtype=bool)
        rows = [
            [point.y, point.x, html.escape(str(text), quote=False), colors[code], bool(flagged)]
            for point, text, flagged in zip(group.geometry, group[label], flags, strict=True)
        ]
        swatch = f'<span style="color:{colors[code]}">&#9679;</span>'
        layers.append(
            FastMarkerCluster(
                rows,
                callback=POINT_CALLBACK,
                name=f"{swatch} {names.get(code, code)} ({len(rows):,})",
                disableClusteringAtZoom=16,
                chunkedLoading=True,
            )
        )
    return layers


class FacilityCluster(FastMarkerCluster):
    """A FastMarkerCluster that honours ``show`` and makes its markers when first shown.

    folium's adds itself to the map always and makes every marker as the page opens; a
    layer that waits in the layer control costs nothing until the planner switches it on.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}
                var data = {{ this.data|tojson }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                cluster.options.iconCreateFunction = {{ this.icon_create_function.strip() }};
                cluster.once('add', function() {
                    cluster.addLayers(data.map(function(row) { return callback(row); }));
                });
                return cluster;
            })();
        {% endmacro %}"""
    )


def facility_callback(svg: str) -> str:
    """Marker callback drawing each facility as its type's symbol, named in a tooltip."""
    return (
        "function(row) { var marker = L.marker(new L.LatLng(row[0], row[1]), {icon:"
        f" L.divIcon({{html: {js_array(svg)}, className: 'facility-symbol',"
        " iconSize: [16, 16], iconAnchor: [8, 8]}), title: row[2], keyboard: false});"
        " marker.facility = {name: row[2], type: row[3], id: row[4]};"
        " marker.bindTooltip(row[2]); return marker; }"
    )


def cluster_icon(color: str) -> str:
    """Cluster bubble in the type's colour as a ring on white: never like a choropleth class."""
    return (
        "function(cluster) { var n = cluster.getChildCount();"
        " var size = n < 10 ? 24 : n < 100 ? 30 : 36;"
        " return L.divIcon({html: '<div style=\"width:' + size + 'px;height:' + size +"
        f" 'px;line-height:' + (size - 6) + 'px;border:3px solid {color};"
        " border-radius:50%;background:#fff;color:#222;font:bold 11px sans-serif;"
        " text-align:center;box-sizing:border-box\">' + n + '</div>',"
        " className: 'facility-cluster', iconSize: [size, size]}); }"
    )


def facility_layers(
    frame: gpd.GeoDataFrame, names: dict[str, str], shown: set[str] | None = None
) -> list[FastMarkerCluster]:
    """One clustered layer per facility type in its fixed symbol and colour (see palette).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Prepared points with ``type_code``, ``name`` and ``id``.
    names : dict
        Type code → name shown in the layer control, in order.
    shown : set of str, optional
        Types whose layer is on at start; the others wait in the layer control.
    """
    result = []
    ids = frame["id"] if "id" in frame else np.full(len(frame), None)
    frame = frame.assign(id=ids)
    for code in names:
        group = frame[frame["type_code"] == code]
        if group.empty:
            continue
        style = facility_style(code)
        rows = [
            [point.y, point.x, html.escape(str(text), quote=False), code, plain(identifier)]
            for point, text, identifier in zip(
                group.geometry, group["name"], group["id"], strict=True
            )
        ]
        result.append(
            FacilityCluster(
                rows,
                callback=facility_callback(style.svg()),
                name=f"{style.svg(12)} {html.escape(names[code])} ({len(rows):,})",
                show=shown is None or code in shown,
                icon_create_function=cluster_icon(style.color),
                disableClusteringAtZoom=16,
                chunkedLoading=True,
            )
        )
    return result


def facility_legend(names: dict[str, str]) -> str:
    """Legend rows (HTML) of the facility types on a map, each with its symbol."""
    return "".join(
        f'<div class="map-legend-class">{facility_style(code).svg(12)} {html.escape(name)}</div>'
        for code, name in names.items()
    )


def category_legend(
    title: str,
    names: dict[str, str],
    colors: dict[str, str],
    marks: tuple[tuple[str, str], ...] = (),
) -> Legend:
    """Return a legend of category colours, then ``marks`` (CSS style, label)."""
    return Legend(title, [(colors[code], names.get(code, code)) for code in colors], marks)


def heat(frame: gpd.GeoDataFrame, name: str, show: bool = False) -> HeatMap:
    """Return a heat map of the points' density."""
    points: list[Any] = [[point.y, point.x] for point in frame.geometry]
    return HeatMap(points, name=name, show=show, radius=18, blur=14, min_opacity=0.3)


def flagged_points(frame: gpd.GeoDataFrame, label: str, name: str, color: str) -> folium.GeoJson:
    """Points drawn unclustered on top, large with a thick ring, so they stand out."""
    return folium.GeoJson(
        feature_collection(frame, [label]),
        name=name,
        marker=folium.CircleMarker(
            radius=10, color="#b30000", weight=4, fill=True, fill_color=color, fill_opacity=0.95
        ),
        tooltip=folium.GeoJsonTooltip(fields=[label], labels=False),
    )
