/* Reference layers from gridsvc's own vector tiles (/ogc): boundaries, streets, names.
 *
 * Offline orientation on every planner's map and the residents' pin map: the walking
 * network drawn as streets in a pane under the data (which go see-through at street zoom),
 * district, street and community outlines over it (they tint nothing), and the names of
 * the tiles' label points as text (VectorGrid draws no text: each tile's points become
 * divIcons, removed with their tile). VectorGrid draws one SVG per tile.
 * Needs Leaflet and Leaflet.VectorGrid. window.GridsvcReference.add(map, {ogc, under, over,
 * underVersion, overVersion}) -> handle (the layers' collections and data versions).
 */
(function () {
  "use strict";
  if (!window.L || !L.VectorGrid) return;
  // Leaflet 1.8 dropped DomEvent.fakeStop, which VectorGrid calls on an interactive click.
  if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = function (e) { e._stopped = true; };

  var SEE_THROUGH_ZOOM = 15;
  var UNDER = "network", OVER = "districts,streets,communities,labels";
  var STYLES = {
    districts: { color: "#263238", weight: 2.5, opacity: 0.9, fill: false },
    streets: { color: "#455a64", weight: 1.5, opacity: 0.8, dashArray: "6 4", fill: false },
    communities: { color: "#78909c", weight: 1, opacity: 0.7, dashArray: "2 3", fill: false },
    // Streets as a map draws them: a grey casing under a light core, wider as one zooms.
    network: function (properties, zoom) {
      var width = zoom >= 17 ? 7 : zoom >= 15 ? 4.5 : 2.5;
      return [
        { color: "#757575", weight: width + 2, opacity: 0.9, lineCap: "round", lineJoin: "round" },
        { color: "#ffffff", weight: width, opacity: 1, lineCap: "round", lineJoin: "round" },
      ];
    },
    labels: [],  // drawn as text below
  };

  function escapeText(value) {
    return String(value).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  function pane(map, name, zIndex) {
    if (!map.getPane(name)) {
      map.createPane(name).style.zIndex = zIndex;
      map.getPane(name).style.pointerEvents = "none";
    }
    return name;
  }

  function add(map, options) {
    options = options || {};
    var ogc = options.ogc || "/ogc";
    var under = pane(map, "reference", 350);  // under the data (overlayPane is 400)
    var over = pane(map, "referenceOutlines", 450);
    var text = pane(map, "referenceLabels", 640);  // names above everything drawn
    var labels = L.layerGroup().addTo(map);
    var byTile = {};   // tile key -> label codes it placed
    var placed = {};   // label code -> {marker, tiles}: a point near a tile edge is in two
    var grid = null;   // the outlines' layer, whose tiles carry the label points

    function placeLabels(coords, layer) {
      var key = coords.x + ":" + coords.y + ":" + coords.z, codes = [];
      // A tile dropped while it loaded (the first zooms of fitBounds) places nothing.
      if (!layer || !grid || !grid._tiles[key]) return;
      var size = 256, scale = size / layer.extent;
      layer.features.forEach(function (feature) {
        var p = feature.properties, point = feature.geometry[0] && feature.geometry[0][0];
        if (!point || point.x < 0 || point.y < 0 || point.x >= layer.extent || point.y >= layer.extent) return;
        var id = p.level + ":" + p.code;
        codes.push(id);
        if (placed[id]) { placed[id].tiles += 1; return; }
        var at = map.unproject([coords.x * size + point.x * scale, coords.y * size + point.y * scale], coords.z);
        var marker = L.marker(at, {
          pane: text, interactive: false, keyboard: false,
          icon: L.divIcon({ className: "ref-label ref-label-" + p.level, html: "<span>" + escapeText(p.name) + "</span>", iconSize: null }),
        });
        marker.gridsvcLabel = p;
        placed[id] = { marker: marker.addTo(labels), tiles: 1 };
      });
      byTile[key] = codes;
    }

    var Layer = L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise: function (coords) {
        return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords).then(function (json) {
          if (json.layers && json.layers.labels) placeLabels(coords, json.layers.labels);
          return json;
        }, function () {
          return { layers: {} };  // offline (the residents' outbox page): an empty tile
        });
      },
      _isValidTile: function (coords) {
        return coords.z >= this.options.fromZoom && L.VectorGrid.Protobuf.prototype._isValidTile.call(this, coords);
      },
    });
    // A URL with the tiles' data version is cached by the browser for good (see tile_views).
    function tiles(LayerClass, collections, paneName, version, fromZoom) {
      var url = ogc + "/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=" + collections;
      return new LayerClass(url + (version ? "&v=" + version : ""), {
        pane: paneName, fromZoom: fromZoom || 0, interactive: false, maxNativeZoom: 18, maxZoom: 19, vectorTileLayerStyles: STYLES,
      });
    }
    // The streets under the data; the outlines (they tint nothing) and names over it.
    // The network's tiles are empty below its min_zoom (13): not asked for there.
    // (Not Leaflet's minZoom, which would stop the whole map zooming out past it.)
    var streets = tiles(Layer, options.under || UNDER, under, options.underVersion,
      options.underMinZoom).addTo(map);
    grid = tiles(Layer, options.over || OVER, over, options.overVersion);
    grid.on("tileunload", function (event) {
      var c = event.coords, key = c.x + ":" + c.y + ":" + c.z;
      (byTile[key] || []).forEach(function (id) {
        var entry = placed[id];
        if (!entry) return;
        entry.tiles -= 1;
        if (entry.tiles <= 0) { labels.removeLayer(entry.marker); delete placed[id]; }
      });
      delete byTile[key];
    });
    grid.addTo(map);
    // At street zoom the data go see-through, so the streets under them read.
    function seeThrough() {
      map.getPane("overlayPane").style.opacity = map.getZoom() >= SEE_THROUGH_ZOOM ? 0.5 : "";
    }
    map.on("zoomend", seeThrough);
    seeThrough();
    var handle = {
      map: map,
      streets: streets,
      outlines: grid,
      labels: labels,
      /** Names drawn now, by level (district, street, community): for tests and legends. */
      labelNames: function () {
        return labels.getLayers().map(function (m) { return m.gridsvcLabel; });
      },
    };
    map.gridsvcReference = handle;
    window.GridsvcReference.handles.push(handle);  // a page's maps, for tests
    return handle;
  }

  var style = document.createElement("style");
  style.textContent =
    ".ref-label{pointer-events:none}.ref-label span{position:absolute;white-space:nowrap;transform:translate(-50%,-50%);" +
    "font:12px/1.2 system-ui,sans-serif;color:#37474f;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}" +
    ".ref-label-district{font-size:15px;font-weight:700;color:#263238}" +
    ".ref-label-street{font-size:13px;font-weight:600;color:#37474f}" +
    ".ref-label-community{font-size:11px;color:#546e7a}";
  document.head.appendChild(style);
  window.GridsvcReference = { add: add, handles: [] };
})();
