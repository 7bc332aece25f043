"""The frame of every map: base tiles, data preparation, classes, the page (furniture.py).

Pure: nothing here touches the database or the web framework.

Data arrive in WGS-84. On a GCJ-02 base map (Amap, Tencent) they are shifted to GCJ-02 so
they sit on the streets of the tiles; with no base map or a WGS-84 one they stay as they
are. Coordinates are rounded to ``digits`` decimals (5 digits is about 1 m), which with
the database's simplification keeps a whole city's page light.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element
from folium.utilities import JsCode
from shapely.geometry import mapping

from gridsvc.common.coords import from_wgs84, parse_coordinate_system
from gridsvc.maps.assets import localize
from gridsvc.maps.furniture import (
    LEGEND_CSS,
    SMALL_SCREEN,
    FitBounds,
    MetricScale,
    NorthArrow,
    Title,
)
from gridsvc.maps.reference import ReferenceLayers

#: Above this many polygons Leaflet draws on one canvas instead of one SVG path each.
CANVAS_THRESHOLD = 2000


@dataclass(frozen=True)
class BaseTiles:
    """The base map under the data: none, or an XYZ tile URL in a coordinate system."""

    url: str | None = None
    attribution: str = ""
    crs: str = "wgs84"
    subdomains: str = "abc"
    name: str = "none"


TILE_PRESETS = {
    "none": BaseTiles(),
    "osm": BaseTiles(
        url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attribution="&copy; OpenStreetMap contributors",
        name="OpenStreetMap",
    ),
    "amap": BaseTiles(
        url="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        attribution="&copy; 高德地图 AutoNavi (GCJ-02)",
        crs="gcj02",
        subdomains="1234",
        name="高德 Amap",
    ),
}


def base_tiles(setting: str, crs: str = "wgs84", attribution: str = "") -> BaseTiles:
    """Resolve the base-map setting: ``none``, ``osm``, ``amap`` or an XYZ URL template.

    Parameters
    ----------
    setting : str
        A preset name, or a URL with ``{z}``, ``{x}`` and ``{y}`` (a local tile server).
    crs : str
        Coordinate system of a URL's tiles: ``wgs84`` or ``gcj02`` (presets know theirs).
    attribution : str
        Attribution shown for a URL's tiles.

    Raises
    ------
    ValueError
        If the setting is neither a preset nor a tile URL template.
    """
    preset = TILE_PRESETS.get(setting.strip().lower())
    if preset is not None:
        return preset
    if not all(part in setting for part in ("{z}", "{x}", "{y}")):
        raise ValueError(
            f"map tiles '{setting}': use none, osm, amap or an XYZ URL with {{z}}, {{x}}, {{y}}"
        )
    system = parse_coordinate_system(crs).value
    return BaseTiles(
        url=setting, attribution=attribution or "local tiles", crs=system, name="tiles"
    )


@dataclass(frozen=True)
class RenderOptions:
    """How a map is written: where its assets are, its base map, coordinate precision."""

    static_url: str = "/static"
    tiles: BaseTiles = field(default_factory=BaseTiles)
    digits: int = 5
    #: A line under the title: when the data were drawn (for print and exports).
    note: str = ""
    #: Where the service's OGC API is (``/ogc``): reference layers from its tiles. None
    #: for a written file, which has no server to ask.
    ogc_url: str | None = None
    #: Tile layer name -> data version, written into its tile URLs (``?v=``) so the
    #: browser keeps the tiles; ``page`` is the page's own (see gridsvc.maps.versions).
    tile_versions: tuple[tuple[str, str], ...] = ()

    def tile_version(self, layer: str) -> str | None:
        """Return the data version of a tile layer (or ``page``); None when not known."""
        return dict(self.tile_versions).get(layer)

    @property
    def vector_tiles(self) -> bool:
        """Whether the map can draw the service's tiles: served, on no or a WGS-84 base map."""
        return self.ogc_url is not None and self.tiles.crs == "wgs84"


def shift_for_tiles(geometries: gpd.GeoSeries, tiles: BaseTiles) -> gpd.GeoSeries:
    """WGS-84 geometries moved into the base map's coordinate system (GCJ-02 shifts)."""
    if tiles.crs == "wgs84":
        return geometries

    def to_tiles(coordinates: np.ndarray) -> np.ndarray:
        lon, lat = from_wgs84(coordinates[:, 0], coordinates[:, 1], tiles.crs)
        return np.column_stack([np.atleast_1d(lon), np.atleast_1d(lat)])

    return gpd.GeoSeries(shapely.transform(geometries.values, to_tiles), index=geometries.index)


def prepare(frame: gpd.GeoDataFrame, options: RenderOptions) -> gpd.GeoDataFrame:
    """Return a copy in EPSG:4326, shifted for the base map, coordinates rounded to ``digits``."""
    frame = frame.to_crs(4326) if frame.crs is not None else frame.set_crs(4326)
    geometries = shift_for_tiles(frame.geometry, options.tiles)
    rounded = shapely.transform(geometries.values, lambda xy: np.round(xy, options.digits))
    return frame.set_geometry(gpd.GeoSeries(rounded, index=frame.index, crs=4326))


def plain(value: Any) -> Any:
    """Return a numpy or pandas scalar as a JSON-ready Python value (NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def text_safe(value: Any) -> Any:
    """Return ``value`` with HTML escaped if it is text: tooltips insert it as HTML."""
    return html.escape(value, quote=False) if isinstance(value, str) else value


def feature_collection(
    frame: gpd.GeoDataFrame, columns: list[str], id_column: str | None = None
) -> dict[str, Any]:
    """Return a compact FeatureCollection of ``frame`` with only ``columns`` as properties."""
    records = frame[columns].to_dict("records")
    features = []
    for geometry, record in zip(frame.geometry, records, strict=True):
        item: dict[str, Any] = {
            "type": "Feature",
            "geometry": mapping(geometry),
            "properties": {key: text_safe(plain(value)) for key, value in record.items()},
        }
        if id_column is not None:
            item["id"] = plain(record[id_column])
        features.append(item)
    return {"type": "FeatureCollection", "features": features}


def class_breaks(values: Any, classes: int = 5) -> list[float]:
    """Quantile class breaks of ``values`` rounded to two significant digits, ascending.

    Returns ``classes + 1`` edges or fewer when values repeat; the first is the minimum
    and the last the maximum, so every value falls in a class.
    """
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return [0.0, 1.0]
    edges = np.quantile(data, np.linspace(0, 1, classes + 1))

    def nice(value: float) -> float:
        if value == 0:
            return 0.0
        digits = 1 - int(math.floor(math.log10(abs(value))))
        return round(float(value), digits)

    inner = sorted({nice(edge) for edge in edges[1:-1]} - {float(data.min()), float(data.max())})
    inner = [edge for edge in inner if data.min() < edge < data.max()]
    return [float(data.min()), *inner, float(data.max())]


def classify(values: Any, breaks: list[float]) -> np.ndarray:
    """Class index of each value for ``breaks`` (``-1`` where the value is missing)."""
    data = np.asarray(values, dtype=float)
    index = np.clip(np.searchsorted(breaks, data, side="right") - 1, 0, len(breaks) - 2)
    return np.where(np.isfinite(data), index, -1)


def new_map(
    bounds: tuple[float, float, float, float], title: str, options: RenderOptions, canvas: bool
) -> folium.Map:
    """Return an empty map fitted to ``bounds`` (west, south, east, north), with the base tiles.

    Parameters
    ----------
    bounds : tuple of float
        The data's extent, already in the base map's coordinate system.
    title : str
        Shown on the map and as the page's title.
    options : RenderOptions
        Base tiles and asset location.
    canvas : bool
        Draw vector layers on a canvas (many features) rather than as SVG paths.
    """
    west, south, east, north = bounds
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        control_scale=False,
        prefer_canvas=canvas,
        zoom_snap=0.25,
        maxZoom=18,  # the map's own limit: clustering needs one even with no tiles
    )
    # Fitted first: a layer added before asks for the tiles of the start view, then drops them.
    fmap.add_child(FitBounds([[south, west], [north, east]]))
    tiles = options.tiles
    if tiles.url is not None:
        folium.TileLayer(
            tiles.url,
            attr=tiles.attribution,
            name=tiles.name,
            subdomains=tiles.subdomains,
            max_zoom=18,
        ).add_to(fmap)
    if options.vector_tiles:
        fmap.add_child(ReferenceLayers(options.ogc_url, dict(options.tile_versions)))
    fmap.get_root().header.add_child(Element(f"<title>{title}</title>"), name="title")
    fmap.get_root().header.add_child(Element(LEGEND_CSS), name="map_css")
    fmap.add_child(Title(title, options.note))
    fmap.add_child(NorthArrow())
    fmap.add_child(MetricScale())
    return fmap


def to_html(fmap: folium.Map, options: RenderOptions) -> str:
    """Return the map as a standalone HTML page whose every asset is local (see assets)."""
    small_screen = JsCode(f"window.matchMedia({js_array(SMALL_SCREEN)}).matches")
    folium.LayerControl(collapsed=small_screen).add_to(fmap)
    localize(fmap, options.static_url)
    return fmap.get_root().render()


def js_array(values: Any) -> str:
    """Return a JSON literal for inline JavaScript."""
    return json.dumps(values, ensure_ascii=False)
