"""The scenario control: a planner adds, moves and removes facilities on the coverage map.

Pure: a folium element holding plain JavaScript. Every change asks the what-if API
(``POST /api/v1/coverage/what-if``) and recolours the grids it answers for with their
coverage after, beside the before/after figures it returns; "suggest" asks the siting API
and draws its sites. The scenario lives in the page's address (``#`` and JSON), so a link
shares it, and it exports as GeoJSON. Nothing is stored.

The grids are either GeoJSON layers in the page or the features of the coverage tiles
(:mod:`gridsvc.maps.tiled`): there each affected grid is restyled by its code
(``setFeatureStyle``). Sites come in the base map's coordinate system (the siting API
shifts them, ``crs``), so on a GCJ-02 base map they sit on the right street; the export is
the what-if API's GeoJSON, in WGS-84 as GeoJSON must be.
"""

from __future__ import annotations

from typing import Any

from branca.element import MacroElement
from folium.template import Template

from gridsvc.maps.basemap import js_array
from gridsvc.maps.palette import facility_style

SCENARIO_JS = """
(function() {
    var map = {{ this._parent.get_name() }}, cfg = {{ this.config }};
    var state = {add: [], move: [], remove: []}, last = null, mode = null, moving = null;
    var drawn = L.layerGroup().addTo(map), sites = L.layerGroup().addTo(map);
    var grids = {}, tiles = null;
    map.eachLayer(function(layer) {
        if (layer.gridsvcFigures) { tiles = layer; }
        if (!(layer instanceof L.GeoJSON)) { return; }
        layer.eachLayer(function(grid) {
            var p = grid.feature && grid.feature.properties;
            if (p && "coverage_percent" in p) { grids[p.code] = grid; grid.gridsvcGroup = layer; }
        });
    });
    // A grid of the coverage tiles, styled by its code in every tile that holds it.
    var tileGrid = function(code) {
        var grid = {code: code, options: {}, scenario: null};
        grid.setStyle = function(style) {
            grid.options = style;
            tiles.setFeatureStyle(code, Object.assign({fill: true, opacity: 1}, style));
        };
        grid.reset = function() { grid.options = {}; tiles.resetFeatureStyle(code); };
        return grid;
    };
    var gridLayer = function(code) {
        if (!grids[code] && tiles) { grids[code] = tileGrid(code); }
        return grids[code];
    };
    var unmark = function(grid) {
        grid.scenario = null;
        if (grid.reset) { grid.reset(); } else { grid.gridsvcGroup.resetStyle(grid); }
    };
    // Facilities by id, from the clusters' markers; a cluster makes them when first shown.
    var facilities = {};
    var collect = function(layer) {
        layer.getLayers().forEach(function(m) {
            if (m.facility && m.facility.id !== null) { facilities[m.facility.id] = m; }
        });
    };
    map.eachLayer(function(layer) {
        if (!(layer instanceof L.MarkerClusterGroup)) { return; }
        collect(layer);
        layer.on("add", function() { collect(layer); if (state.remove.length) { redraw(); } });
        layer.on("click", function(event) { facilityMenu(event.layer); });
    });
    var panel = L.control({position: "bottomleft"});
    panel.onAdd = function() {
        var div = L.DomUtil.create("div", "scenario-panel");
        var options = Object.keys(cfg.types).map(function(code) {
            return '<option value="' + code + '">' + cfg.types[code].name + '</option>';
        }).join("");
        div.innerHTML = '<b>方案 scenario</b> <select class="scenario-type">' + options +
            '</select> <button class="scenario-add">添加 add</button>' +
            ' <button class="scenario-reset">清除 reset</button><br>' +
            '<input class="scenario-k" type="number" min="1" max="50" value="3">' +
            ' <button class="scenario-suggest">建议站点 suggest k sites</button>' +
            ' <button class="scenario-export">GeoJSON</button>' +
            ' <a class="scenario-link" href="#">链接 link</a>' +
            '<div class="scenario-result">点击"添加"后在地图上点选位置 · ' +
            'click add, then the map</div>';
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    panel.addTo(map);
    var root = panel.getContainer(), result = root.querySelector(".scenario-result");
    var $ = function(name) { return root.querySelector(name); };
    var percent = function(v) { return v === null ? "—" : (100 * v).toFixed(1) + " %"; };
    var colour = function(v) {
        if (v === null || v === undefined) { return cfg.missing; }
        for (var k = cfg.breaks.length - 2; k >= 0; k--) {
            if (v >= cfg.breaks[k]) { return cfg.colors[k]; }
        }
        return cfg.colors[0];
    };
    var icon = function(code, ring) {
        return L.divIcon({html: '<div class="scenario-mark" style="border-color:' + ring +
            '">' + cfg.types[code].svg + '</div>', className: "scenario-icon",
            iconSize: [24, 24], iconAnchor: [12, 12]});
    };
    var body = function() {
        var place = function(item) { return Object.assign({crs: cfg.crs}, item); };
        return {circle: cfg.circle, mode: cfg.mode, district: cfg.district,
                add: state.add.map(place), move: state.move.map(place), remove: state.remove};
    };
    var redraw = function() {
        drawn.clearLayers();
        state.add.forEach(function(item, index) {
            var marker = L.marker([item.lat, item.lon], {icon: icon(item.type_code, "#111"),
                draggable: true, title: "新增 added"}).addTo(drawn);
            marker.on("dragend", function() {
                var at = marker.getLatLng(); item.lat = at.lat; item.lon = at.lng; changed();
            });
            marker.on("click", function() { state.add.splice(index, 1); changed(); });
            marker.bindTooltip("新增 added " + cfg.types[item.type_code].name +
                " (拖动 drag, 点击移除 click to remove)");
        });
        state.move.forEach(function(item) {
            var marker = L.marker([item.lat, item.lon], {icon: icon(item.type_code, "#1565c0"),
                draggable: true}).addTo(drawn);
            marker.on("dragend", function() {
                var at = marker.getLatLng(); item.lat = at.lat; item.lon = at.lng; changed();
            });
            marker.bindTooltip("移动后 moved: " + item.name);
        });
        state.remove.forEach(function(id) {
            var old = facilities[id];
            if (old) {
                L.marker(old.getLatLng(), {icon: L.divIcon({html: "✕",
                    className: "scenario-removed", iconSize: [18, 18]})})
                    .bindTooltip("移除 removed: " + old.facility.name).addTo(drawn);
            }
        });
    };
    var restyle = function(answer) {
        Object.keys(grids).forEach(function(code) {
            if (grids[code].scenario) { unmark(grids[code]); } });
        (answer ? answer.grids : []).forEach(function(row) {
            var layer = gridLayer(row.code);
            if (!layer) { return; }
            layer.scenario = row;
            layer.setStyle({fillColor: colour(row.coverage_after), fillOpacity: 0.9,
                weight: 2.5, color: "#000000"});
        });
    };
    var show = function(answer) {
        last = answer; window.gridsvcScenario.last = answer;
        restyle(answer);
        var rows = answer.grids.slice().sort(function(a, b) {
            return b.residents_gained - a.residents_gained; }).slice(0, 8);
        result.innerHTML = '<div class="scenario-figures">覆盖 coverage ' +
            percent(answer.coverage_before) + ' → <b>' + percent(answer.coverage_after) +
            '</b> · 新增覆盖居民 residents gained <b class="scenario-gained">' +
            answer.residents_gained.toLocaleString() + '</b> · 网格 grids ' +
            answer.grids.length + ' · ' + answer.seconds + ' s</div>' +
            '<table>' + rows.map(function(row) {
                return '<tr><td>' + row.code + '</td><td>' + percent(row.coverage_before) +
                    ' → ' + percent(row.coverage_after) + '</td><td>+' +
                    row.residents_gained.toLocaleString() + '</td></tr>';
            }).join("") + '</table>';
    };
    var run = function() {
        var empty = !state.add.length && !state.move.length && !state.remove.length;
        history.replaceState(null, "", empty ? location.pathname + location.search :
            "#" + encodeURIComponent(JSON.stringify(state)));
        if (empty) { restyle(null); result.textContent = "无改动 no change"; return; }
        result.textContent = "计算中 computing…";
        window.gridsvcScenario.pending = true;
        fetch("/api/v1/coverage/what-if", {method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify(body())})
            .then(function(response) {
                return response.json().then(function(data) {
                    if (!response.ok) { throw new Error(data.detail || response.status); }
                    return data;
                });
            })
            .then(show)
            .catch(function(error) { result.textContent = "错误 error: " + error.message; })
            .finally(function() { window.gridsvcScenario.pending = false; });
    };
    var changed = function() { redraw(); run(); };
    var facilityMenu = function(marker) {
        if (!marker.facility || marker.facility.id === null) { return; }
        var f = marker.facility, div = L.DomUtil.create("div", "scenario-menu");
        div.innerHTML = "<b>" + f.name + "</b><br>";
        var remove = L.DomUtil.create("button", "", div);
        var move = L.DomUtil.create("button", "", div);
        remove.textContent = "移除 remove"; move.textContent = "移动 move (再点地图 then click)";
        remove.onclick = function() {
            if (state.remove.indexOf(f.id) < 0) { state.remove.push(f.id); }
            map.closePopup(); changed();
        };
        move.onclick = function() { moving = f; mode = "move"; map.closePopup(); };
        L.popup().setLatLng(marker.getLatLng()).setContent(div).openOn(map);
    };
    var clicked = function(event) {
        // A click on a grid reaches both the grid and the map: act once.
        var seen = event.originalEvent;
        if (seen && seen.scenarioSeen) { return; }
        if (seen) { seen.scenarioSeen = true; }
        var at = event.latlng;
        if (mode) { setTimeout(function() { map.closePopup(); }, 0); }
        if (mode === "add") {
            state.add.push({type_code: $(".scenario-type").value, lon: at.lng, lat: at.lat});
            changed();
        } else if (mode === "move" && moving) {
            state.move = state.move.filter(function(item) { return item.id !== moving.id; });
            state.move.push({id: moving.id, lon: at.lng, lat: at.lat,
                             type_code: moving.type, name: moving.name});
            moving = null; mode = null; changed();
        }
    };
    map.on("click", clicked);
    Object.keys(grids).forEach(function(code) { grids[code].on("click", clicked); });
    if (tiles) { tiles.on("click", clicked); }
    $(".scenario-add").onclick = function() {
        mode = mode === "add" ? null : "add";
        $(".scenario-add").classList.toggle("scenario-on", mode === "add");
        map.getContainer().style.cursor = mode === "add" ? "crosshair" : "";
    };
    $(".scenario-reset").onclick = function() {
        state = {add: [], move: [], remove: []}; window.gridsvcScenario.state = state;
        sites.clearLayers(); changed();
    };
    $(".scenario-link").onclick = function(event) {
        event.preventDefault();
        if (navigator.clipboard) { navigator.clipboard.writeText(location.href).catch(
            function() {}); }
        result.insertAdjacentHTML("afterbegin", '<div>链接已复制 link copied: ' +
            '<input class="scenario-url" readonly size="30"></div>');
        $(".scenario-url").value = location.href;
    };
    // The export is the what-if API's GeoJSON: WGS-84 whatever the base map, grids outlined.
    $(".scenario-export").onclick = function() {
        window.gridsvcScenario.exported = null;
        fetch("/api/v1/coverage/what-if", {method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify(Object.assign(body(), {format: "geojson"}))})
            .then(function(response) {
                return response.text().then(function(text) {
                    if (!response.ok) {
                        throw new Error(JSON.parse(text).detail || response.status);
                    }
                    return text;
                });
            })
            .then(function(text) {
                var link = document.createElement("a");
                link.href = URL.createObjectURL(new Blob([text], {type: "application/geo+json"}));
                link.download = "scenario-" + cfg.circle + ".geojson";
                document.body.appendChild(link); link.click(); link.remove();
                window.gridsvcScenario.exported = text;
            })
            .catch(function(error) { result.textContent = "错误 error: " + error.message; });
    };
    $(".scenario-suggest").onclick = function() {
        var k = Math.max(1, Math.min(50, parseInt($(".scenario-k").value, 10) || 3));
        result.textContent = "选址中 siting…";
        fetch("/api/v1/coverage/siting", {method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify(
                    {circle: cfg.circle, mode: cfg.mode, district: cfg.district, k: k,
                     crs: cfg.crs})})
            .then(function(response) { return response.json(); })
            .then(function(answer) {
                window.gridsvcScenario.siting = answer;
                sites.clearLayers();
                (answer.sites || []).forEach(function(item) {
                    var mark = L.marker([item.lat, item.lon], {icon: L.divIcon({html:
                        '<div class="scenario-site">' + item.rank + '</div>',
                        className: "scenario-icon", iconSize: [24, 24]})});
                    mark.gridsvcSite = item;
                    mark
                        .bindTooltip("#" + item.rank + " +" + item.residents_gained
                            .toLocaleString() + " 居民 residents · " + (item.grid_name || "") +
                            " · " + (item.community_name || "") + " · " +
                            (item.street_name || ""), {permanent: true, direction: "right"})
                        .addTo(sites);
                });
                result.innerHTML = "建议 suggested " + (answer.sites || []).length +
                    " 个站点 sites: +" + (answer.residents_gained || 0).toLocaleString() +
                    " 居民 residents (" + answer.method + (answer.optimal ? ", optimal" : "") +
                    ') <button class="scenario-take">加入方案 add to scenario</button>';
                $(".scenario-take").onclick = function() {
                    answer.sites.forEach(function(item) {
                        state.add.push({type_code: $(".scenario-type").value,
                                        lon: item.lon, lat: item.lat});
                    });
                    sites.clearLayers(); changed();
                };
            });
    };
    window.gridsvcScenario = {state: state, last: null, pending: false, grids: grids,
                              sites: sites, tiled: tiles !== null};
    if (location.hash.length > 1) {
        try {
            var saved = JSON.parse(decodeURIComponent(location.hash.slice(1)));
            ["add", "move", "remove"].forEach(function(key) {
                state[key] = Array.isArray(saved[key]) ? saved[key] : []; });
            changed();
        } catch (error) { result.textContent = "链接无效 the link's scenario is unreadable"; }
    }
})();
"""

SCENARIO_CSS = """
.scenario-panel { background: rgba(255,255,255,.95); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.35); font: 12px/1.6 sans-serif; max-width: 30em; }
.scenario-panel button.scenario-on { background: #222; color: #fff; }
.scenario-k { width: 3.5em; }
.scenario-result table { border-collapse: collapse; }
.scenario-result td { padding: 0 6px 0 0; }
.scenario-icon { background: none; border: none; }
.scenario-mark { width: 20px; height: 20px; border: 2px solid; border-radius: 50%;
  background: #fff; display: flex; align-items: center; justify-content: center; }
.scenario-removed { color: #b30000; font: bold 16px sans-serif; text-shadow: 0 0 2px #fff; }
.scenario-site { width: 20px; height: 20px; border-radius: 50%; background: #6a1b9a;
  color: #fff; font: bold 12px/20px sans-serif; text-align: center; border: 2px solid #fff; }
@media (max-width: 700px) { .scenario-panel { max-width: 70vw; font-size: 11px; } }
"""


class Scenario(MacroElement):
    """The scenario panel and its map clicks, for one circle, mode and district."""

    _template = Template(
        "{% macro script(this, kwargs) %}" + SCENARIO_JS + "{% endmacro %}"
        "{% macro header(this, kwargs) %}<style>" + SCENARIO_CSS + "</style>{% endmacro %}"
    )

    def __init__(self, circle: str, mode: str, district: str | None, **config: Any) -> None:
        super().__init__()
        self._name = "Scenario"
        self.circle, self.mode, self.district, self.extra = circle, mode, district, config

    def render(self, **kwargs: Any) -> None:
        """Write the configuration and render."""
        types = {
            code: {"name": name, "svg": facility_style(code).svg(14)}
            for code, name in self.extra["types"].items()
        }
        data = {
            "circle": self.circle,
            "mode": self.mode,
            "district": self.district,
            "types": types,
            "breaks": self.extra["breaks"],
            "colors": self.extra["colors"],
            "missing": self.extra["missing"],
            "crs": self.extra["crs"],
        }
        # Positions go to the APIs and come back in the base map's system (crs).
        self.config = js_array(data)
        super().render(**kwargs)
