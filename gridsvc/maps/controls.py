"""Controls every planner's map carries: a popup per grid, and a search box.

Pure: folium elements holding plain JavaScript (no library beyond Leaflet). The popup reads
the feature's own properties, so it costs the page nothing per grid; the search looks
through the features already on the map (grid code, grid or community name, facility name).
"""

from __future__ import annotations

from branca.element import MacroElement
from folium.template import Template

from gridsvc.maps.basemap import js_array

#: Popup rows: property → label, shown when the feature has the property.
POPUP_FIELDS = {
    "community_name": "社区 community",
    "population": "居民 residents",
    "density": "居民/km² per km²",
    "coverage_percent": "覆盖率 coverage %",
    "uncovered_residents": "未覆盖居民 uncovered residents",
}


class GridPopup(MacroElement):
    """``window.gridPopup(properties)``: a grid's figures, names and links, on click.

    Links: the grid in the API, the coverage of its district for the map's circle, the
    issues map of its district (staff only: the link asks for a token as that map does).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.gridPopup = function(p) {
            var fields = {{ this.fields }}, circle = {{ this.circle }};
            var esc = function(v) { return String(v).replace(/[&<>"]/g, function(c) {
                return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]; }); };
            var html = '<div class="grid-popup"><b>' + esc(p.name || '') + '</b><br>' +
                '<code>' + esc(p.code || '') + '</code><table>';
            Object.keys(fields).forEach(function(key) {
                if (p[key] === undefined || p[key] === null) { return; }
                var v = typeof p[key] === 'number' ? p[key].toLocaleString() : p[key];
                html += '<tr><td>' + fields[key] + '</td><td>' + esc(v) + '</td></tr>';
            });
            var code = encodeURIComponent(p.code || ''), district = (p.code || '').slice(0, 6);
            html += '</table><a href="/api/v1/grids/' + code + '">网格 grid (API)</a>';
            if (circle) {
                html += ' · <a href="/api/v1/coverage?circle=' + circle + '&district=' +
                    district + '">覆盖 coverage</a>';
            }
            html += ' · <a href="/maps/issues?district=' + district + '">事件 issues</a></div>';
            return html;
        };
        {% endmacro %}
        """
    )

    def __init__(self, circle: str | None = None) -> None:
        super().__init__()
        self._name = "GridPopup"
        self.fields = js_array(POPUP_FIELDS)
        self.circle = js_array(circle)


class SearchBox(MacroElement):
    """A search box: a grid code, a grid or community name, or a facility name.

    The first match is zoomed to and its popup (a grid) or tooltip (a facility) opened;
    the box lists up to ten matches to pick from.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var box = L.control({position: "topleft"});
            box.onAdd = function() {
                var div = L.DomUtil.create("div", "map-search");
                div.innerHTML = '<input type="search"' +
                    ' placeholder="搜索 网格编码/名称/设施 search"' +
                    ' aria-label="search grids and facilities">' +
                    '<div class="map-search-hits"></div>';
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            box.addTo(map);
            var input = box.getContainer().querySelector("input");
            var hits = box.getContainer().querySelector(".map-search-hits");
            var candidates = function() {
                var found = [];
                map.eachLayer(function(layer) {
                    if (layer.gridsvcSearch) {  // grids drawn from tiles: their index
                        found = found.concat(layer.gridsvcSearch());
                    }
                    if (layer.feature && layer.feature.properties && layer.getBounds &&
                            layer.feature.properties.code) {
                        found.push({layer: layer, kind: "grid", p: layer.feature.properties});
                    }
                    if (layer instanceof L.MarkerClusterGroup) {
                        layer.getLayers().forEach(function(marker) {
                            if (marker.facility) {
                                found.push({layer: marker, kind: "facility", group: layer,
                                            p: marker.facility});
                            }
                        });
                    }
                });
                return found;
            };
            var matches = function(text) {
                var q = text.trim().toLowerCase();
                if (!q) { return []; }
                return candidates().filter(function(c) {
                    var p = c.p;
                    return [p.code, p.name, p.community_name].some(function(v) {
                        return v !== undefined && v !== null &&
                            String(v).toLowerCase().indexOf(q) >= 0;
                    });
                }).sort(function(a, b) {  // an exact code first, then grids
                    var exact = function(c) { return String(c.p.code) === q ? 0 : 1; };
                    return exact(a) - exact(b) || (a.kind === "grid" ? 0 : 1) -
                        (b.kind === "grid" ? 0 : 1);
                }).slice(0, 10);
            };
            var show = function(hit) {
                if (hit.kind === "grid") {
                    map.fitBounds(hit.layer.getBounds(), {maxZoom: 16, animate: false});
                    hit.layer.openPopup(hit.layer.getBounds().getCenter());
                } else {
                    hit.group.zoomToShowLayer(hit.layer, function() { hit.layer.openTooltip(); });
                }
                window.gridsvcSearchHit = hit.p;
            };
            var list = function() {
                var found = matches(input.value);
                hits.innerHTML = "";
                found.forEach(function(hit) {
                    var item = L.DomUtil.create("div", "map-search-hit", hits);
                    item.textContent = (hit.kind === "grid" ? "网格 " : "设施 ") +
                        (hit.p.name || "") + (hit.p.code ? " " + hit.p.code : "");
                    // Stopped here: once the list is emptied, the item is out of the
                    // control, and Leaflet would take the click for one on the map
                    // (closing the popup just opened).
                    item.onclick = function(event) {
                        L.DomEvent.stopPropagation(event);
                        show(hit);
                        hits.innerHTML = "";
                    };
                });
                return found;
            };
            input.addEventListener("input", list);
            input.addEventListener("keydown", function(event) {
                if (event.key === "Enter") {
                    var found = list();
                    if (found.length) { show(found[0]); hits.innerHTML = ""; }
                }
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "SearchBox"
