"""Coverage drawn from the service's vector tiles, so a whole city's map page stays small.

The full-city coverage map sends no grid polygons: its coverage, gaps and service areas
are Leaflet.VectorGrid layers over ``/ogc/collections/{id}/tiles``, loaded as the planner
pans. What the GeoJSON map shows stays: classes by coverage, opacity by residents per km²
(value-by-alpha, the same scale as the GeoJSON map's, sent as its top), gaps and service
areas off at start, a popup per grid with its figures, names and links, and the search
(a compact index of codes, names and points in the page). A district's map uses the same
tiles (shared in the browser's cache with the city's) and draws only the district's grids.
"""

from __future__ import annotations

import json
from typing import Any

from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

#: The tile layer's JavaScript: ``gridsvcTiles(map, url, options)`` -> a VectorGrid layer.
TILES_JS = """
window.gridsvcTiles = window.gridsvcTiles || function(map, url, o) {
    if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function(e) { e._stopped = true; }; }
    var communityOf = {};
    (o.index || []).forEach(function(row) { communityOf[row[0]] = row[2]; });
    var classOf = function(v) {
        if (v === null || v === undefined || !isFinite(v)) { return -1; }
        var k = 0;
        while (k < o.breaks.length - 2 && v >= o.breaks[k + 1]) { k += 1; }
        return k;
    };
    var figures = function(p) {
        var km2 = (p.area_m2 || 0) / 1e6, residents = p.residents || 0;
        var density = km2 > 0 ? Math.round(residents / km2) : null;
        var a = 0;
        if (density !== null && o.top > 0) {
            a = Math.min(1, Math.max(0, Math.log10(density + 1) / o.top));
        }
        var share = residents > 0 ? p.coverage : null;
        return {code: p.code, name: p.name, community_name: communityOf[p.code],
                population: residents, density: density,
                coverage_percent: share === null ? o.noResidents :
                    Math.round(share * 1000) / 10,
                uncovered_residents: p.uncovered_residents, k: classOf(share), a: a};
    };
    var style = function(p) {
        // A district's map draws its own grids only; the tiles are the city's.
        if (o.district && p.district_code !== undefined && p.district_code !== o.district) {
            return [];
        }
        if (o.kind === 'gaps') {
            return {color: o.color, weight: 1.5, dashArray: '3 3', fill: false};
        }
        if (o.kind === 'areas') {
            return {color: o.color, weight: 1, fill: true, fillColor: o.color,
                    fillOpacity: 0.15};
        }
        var f = figures(p);
        return {fill: true, fillColor: f.k >= 0 ? o.colors[f.k] : o.missing,
                fillOpacity: o.low + (o.high - o.low) * f.a, color: '#555555', weight: 0.5,
                opacity: 0.3 + 0.5 * f.a};
    };
    var styles = {};
    styles[o.layer] = style;
    // One canvas per tile: thousands of grids draw several times faster than as SVG paths.
    var layer = L.vectorGrid.protobuf(url, {
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: styles, interactive: o.kind === 'coverage',
        maxNativeZoom: 18, maxZoom: 19,
        getFeatureId: function(f) { return f.properties.code; }
    });
    if (o.kind === 'coverage') {
        layer.gridsvcFigures = figures;
        layer.gridsvcIndex = o.index;
        layer.on('click', function(e) {
            var p = figures(e.layer.properties);
            L.popup().setLatLng(e.latlng).setContent(
                window.gridPopup ? window.gridPopup(p) : p.name).openOn(map);
        });
        // Marks the map for the bench and tests: the first grid tile is on the screen.
        layer.on('tileload', function() {
            map.getContainer().setAttribute('data-grid-tiles-loaded', '');
        });
        // The search box looks here too: grids by code, name or community, at a point.
        layer.gridsvcSearch = function() {
            return o.index.map(function(row) {
                var at = L.latLng(row[3], row[4]);
                var p = {code: row[0], name: row[1], community_name: row[2]};
                return {kind: 'grid', p: p, layer: {
                    getBounds: function() { return at.toBounds(300); },
                    openPopup: function() {
                        L.popup().setLatLng(at).setContent(window.gridPopup(p)).openOn(map);
                    }
                }};
            });
        };
    }
    return layer;
};
"""


class TiledLayer(JSCSSMixin, Layer):
    """One OGC collection's vector tiles as a map layer (in the layer control)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.tiles_js }}
        var {{ this.get_name() }} = window.gridsvcTiles({{ this._parent.get_name() }},
            {{ this.url }}, {{ this.options }});
        {% endmacro %}
        """
    )
    default_js = [("vectorgrid", "vectorgrid")]

    def __init__(
        self,
        ogc_url: str,
        collection: str,
        name: str,
        options: dict[str, Any],
        show: bool,
        version: str | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "TiledLayer"
        base = ogc_url.rstrip("/")
        url = f"{base}/collections/{collection}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
        # The data version in the URL: the browser keeps the tiles until the data change.
        self.url = json.dumps(url + (f"?v={version}" if version else ""))
        self.options = json.dumps({**options, "layer": collection}, ensure_ascii=False)
        self.tiles_js = TILES_JS


def search_index(grids: Any) -> list[list[Any]]:
    """Code, name, community name, latitude, longitude of each grid (5 decimals, ~1 m)."""
    points = grids.geometry.representative_point()
    return [
        [code, name, community, round(point.y, 5), round(point.x, 5)]
        for code, name, community, point in zip(
            grids["code"], grids["name"], grids["community_name"], points, strict=True
        )
    ]
