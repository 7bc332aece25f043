/* The public map of published reports: clustered markers, a symbol and a word per status. */
"use strict";

(() => {
  const { api, el } = GS;
  const $ = (id) => document.getElementById(id);
  const PAGE = 500;
  let map = null;
  let cluster = null;

  function icon(open) {
    return L.divIcon({
      className: `report-marker ${open ? "open" : "closed"}`,
      html: open ? "!" : "✓",
      iconSize: [24, 24],
    });
  }

  function popup(properties) {
    return el("div", {},
      el("strong", {}, properties.category.name), el("br"),
      properties.open ? "办理中 Open" : "已结束 Closed", el("br"),
      `上报 Reported ${GS.formatTime(properties.created_at)}`, el("br"),
      properties.text ? el("p", {}, properties.text) : null);
  }

  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if ($("category").value) query.set("category", $("category").value);
    if ($("status").value) query.set("status", $("status").value);
    const answer = await api(`/api/v1/reports?${query}`).catch(() => null);
    cluster.clearLayers();
    if (!answer || !answer.ok) {
      $("count").textContent = "无法加载 Could not load the reports";
      return;
    }
    const markers = answer.body.features.map((feature) => {
      const [lon, lat] = feature.geometry.coordinates;
      return L.marker([lat, lon], { icon: icon(feature.properties.open), title: feature.properties.category.name })
        .bindPopup(() => popup(feature.properties));
    });
    cluster.addLayers(markers);
    $("count").textContent = `${markers.length} 条上报 reports`;
    if (markers.length) map.fitBounds(cluster.getBounds(), { maxZoom: 15 });
    document.body.dataset.ready = "true";
  }

  async function start() {
    const config = await api("/residents/config.json").catch(() => null);
    const settings = config && config.ok ? config.body : { tiles: null, city_bbox: [106.7, 37.6, 111.5, 40.8] };
    const [west, south, east, north] = settings.city_bbox;
    map = L.map("map", { maxZoom: 18 }).fitBounds([[south, west], [north, east]]);
    if (settings.tiles) {
      L.tileLayer(settings.tiles.url, { attribution: settings.tiles.attribution, subdomains: settings.tiles.subdomains }).addTo(map);
    }
    api("/api/v1/districts").then((answer) => answer.ok && L.geoJSON(answer.body, {
      style: { color: "#0b5394", weight: 2, fill: false }, interactive: false,
    }).addTo(map)).catch(() => undefined);
    cluster = L.markerClusterGroup({ maxClusterRadius: 50 }).addTo(map);
    const categories = await api("/api/v1/issue-categories").catch(() => null);
    if (categories && categories.ok) {
      $("category").append(...categories.body.map((category) => el("option", { value: category.code },
        `${category.name} ${category.name_en.split(" (")[0]}`)));
    }
    $("category").addEventListener("change", load);
    $("status").addEventListener("change", load);
    await load();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
