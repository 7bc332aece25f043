/* The report page: category, pin on the map (grid shown before sending), photos, outbox. */
"use strict";

(() => {
  const { api, both, el } = GS;
  const MAX_PHOTOS = 4;
  const HINTS = {
    environmental_sanitation: "垃圾、垃圾桶满溢、街道脏乱",
    illegal_construction: "私搭乱建",
    road_damage: "坑洼、人行道破损",
    public_facility_damage: "井盖、路灯、护栏",
    greenery: "树木枯死倒伏、草坪损坏",
    market_order: "占道经营、出店经营",
    public_order: "打架、滋扰",
    fire_hazard: "消防通道堵塞、违规存放、室内充电",
    uncivil_behaviour: "随地吐痰、乱扔垃圾、宠物便溺",
    illegal_parking: "乱停乱放",
    environmental_pollution: "烟尘、污水、噪声",
    water_drainage: "漏水、下水道堵塞、积水",
  };
  const state = { config: null, categories: [], position: null, inCity: false, photos: [], map: null, pin: null };
  const $ = (id) => document.getElementById(id);

  function say(node, ...content) {
    node.replaceChildren(...content);
    node.hidden = content.length === 0;
  }

  async function loadCategories() {
    const answer = await api("/api/v1/issue-categories").catch(() => null);
    const box = $("categories");
    if (!answer || !answer.ok) {
      say(box, both("类别暂时无法加载，请联网后刷新。", "Categories could not be loaded: reload when online."));
      return;
    }
    state.categories = answer.body;
    box.replaceChildren(...answer.body.map((category) => {
      const [english, hint] = category.name_en.split(/\s*\(/);
      const label = el("label", { class: "category" },
        el("input", { type: "radio", name: "category", value: category.code, required: true }),
        el("strong", {}, category.name), " ", el("span", { class: "en" }, english));
      label.append(el("span", { class: "hint" }, HINTS[category.code] || "",
        hint ? ` · ${hint.replace(/\)$/, "")}` : ""));
      return label;
    }));
  }

  function categoryName(code) {
    const category = state.categories.find((item) => item.code === code);
    return category ? category.name : code;
  }

  function insideCity(lat, lon) {
    const [west, south, east, north] = state.config.city_bbox;
    return lon >= west && lon <= east && lat >= south && lat <= north;
  }

  async function describePlace(lat, lon) {
    const place = $("place");
    state.inCity = insideCity(lat, lon);
    if (!state.inCity) {
      place.className = "place warning";
      say(place, both("此位置不在本市范围内，无法上报。", "This point is outside the city: it cannot be reported here."));
      return;
    }
    place.className = "place";
    let answer = null;
    try {
      answer = await api(`/api/v1/grids/locate?lon=${lon.toFixed(6)}&lat=${lat.toFixed(6)}`);
    } catch (error) {
      say(place, both("离线：发送时再确定所属网格。", "Offline: the grid is found when the report is sent."));
      return;
    }
    if (answer.ok) {
      const grid = answer.body.properties;
      say(place, both(`网格：${grid.name}（${grid.code}） · 社区：${grid.community_name}`,
        `Grid ${grid.code}, community ${grid.community_name}`));
    } else {
      place.className = "place warning";
      say(place, both("此处不在任何网格内：将由指挥中心分拨。", "In no grid: the command centre will route it by hand."));
    }
  }

  function placePin(lat, lon, accuracy) {
    state.position = { lat, lon, accuracy };
    state.pin.setLatLng([lat, lon]);
    describePlace(lat, lon);
  }

  function referenceLayers(map, tiles) {
    // With no tile server: boundaries, names and streets from the service's own tiles.
    if (!tiles && window.GridsvcReference) {
      window.GridsvcReference.add(map, { ogc: "/ogc" });
    } else {
      const outline = { color: "#0b5394", weight: 2, fill: false };
      api("/api/v1/districts").then((answer) => {
        if (!answer.ok) return;
        L.geoJSON(answer.body, { style: outline, interactive: false }).addTo(map);
      }).catch(() => undefined);
    }
    const grids = L.geoJSON(null, {
      style: { color: "#555", weight: 1, dashArray: "4 3", fillOpacity: 0.03 },
      onEachFeature: (feature, layer) => layer.bindTooltip(feature.properties.name, { direction: "center" }),
    }).addTo(map);
    map.on("moveend", () => {
      grids.clearLayers();
      if (map.getZoom() < 15) return;
      const b = map.getBounds();
      const box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
      api(`/api/v1/grids?bbox=${box}&limit=200`).then((answer) => answer.ok && grids.addData(answer.body))
        .catch(() => undefined);
    });
  }

  function setUpMap() {
    const [west, south, east, north] = state.config.city_bbox;
    const map = L.map("map", { maxZoom: 19 }).setView([(south + north) / 2, (west + east) / 2], 10);
    const tiles = state.config.tiles;
    if (tiles) L.tileLayer(tiles.url, { attribution: tiles.attribution, subdomains: tiles.subdomains, maxZoom: 19 }).addTo(map);
    state.pin = L.marker(map.getCenter(), { draggable: true, title: "拖动图钉 Drag the pin", alt: "图钉 Pin" }).addTo(map);
    state.pin.on("dragend", () => {
      const at = state.pin.getLatLng();
      placePin(at.lat, at.lng, null);
    });
    map.on("click", (event) => placePin(event.latlng.lat, event.latlng.lng, null));
    referenceLayers(map, tiles);
    state.map = map;
  }

  function locate() {
    if (!navigator.geolocation) {
      say($("place"), both("此浏览器不能定位，请在地图上点选。", "This browser cannot locate you: tap the map."));
      return;
    }
    navigator.geolocation.getCurrentPosition((found) => {
      const { latitude, longitude, accuracy } = found.coords;
      state.map.setView([latitude, longitude], 17);
      placePin(latitude, longitude, accuracy);
    }, () => say($("place"), both("无法定位，请在地图上点选位置。", "Could not locate you: tap the map instead.")),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  async function addPhotos(input) {
    for (const file of Array.from(input.files || [])) {
      if (state.photos.length >= MAX_PHOTOS) break;
      const blob = await Photos.downscale(file);
      state.photos.push(blob);
    }
    input.value = "";
    drawThumbs();
  }

  function drawThumbs() {
    $("thumbs").replaceChildren(...state.photos.map((blob, index) => {
      const remove = el("button", { type: "button", class: "secondary" }, "删除 ", el("span", { class: "en" }, "Remove"));
      remove.addEventListener("click", () => {
        state.photos.splice(index, 1);
        drawThumbs();
      });
      const image = el("img", { src: URL.createObjectURL(blob), alt: `照片 ${index + 1} Photo ${index + 1}` });
      return el("li", {}, image, remove);
    }));
  }

  function problemWith(form) {
    if (!form.querySelector("input[name=category]:checked")) return both("请选择问题类型。", "Choose what the problem is.");
    if (!state.position) return both("请定位或在地图上点选位置。", "Locate yourself or tap the map.");
    if (!state.inCity) return both("此位置不在本市范围内。", "This point is outside the city.");
    if (!$("description").value.trim() && state.photos.length === 0) {
      return both("请拍一张照片或写几句说明。", "Add a photo or a few words.");
    }
    return null;
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.target;
    const problem = problemWith(form);
    say($("problem"), ...(problem ? [problem] : []));
    if (problem) return;
    const contact = $("contact").value.trim();
    const category = form.querySelector("input[name=category]:checked").value;
    const body = {
      lon: Number(state.position.lon.toFixed(6)),
      lat: Number(state.position.lat.toFixed(6)),
      crs: "wgs84",
      category,
      // Words or photos: with photos to follow the description may stay empty.
      description: $("description").value.trim(),
      photo_count: state.photos.length,
      anonymous: $("anonymous").checked,
    };
    if (state.position.accuracy) body.accuracy_m = Math.round(state.position.accuracy);
    if (contact) body.reporter_contact = contact;
    await Outbox.add(body, state.photos.slice());
    state.photos = [];
    drawThumbs();
    $("description").value = "";
    form.querySelector("input[name=category]:checked").checked = false;
  }

  function drawOutbox(drafts) {
    const list = $("outbox");
    if (drafts.length === 0) {
      list.replaceChildren(el("li", {}, both("没有", "None")));
    } else {
      list.replaceChildren(...drafts.map(draftItem));
    }
    drawMine();
  }

  function draftItem(draft) {
    const item = el("li", { "data-state": draft.state },
      el("strong", {}, categoryName(draft.body.category)), ` · ${GS.formatTime(draft.made_at)} · `,
      both(`${draft.photos.length} 张照片`, `${draft.photos.length} photo(s)`), el("br"));
    if (draft.state === "refused") {
      const drop = el("button", { type: "button", class: "secondary" }, "删除 ", el("span", { class: "en" }, "Delete"));
      drop.addEventListener("click", () => Outbox.remove(draft.key).then(() => Outbox.sendAll()));
      item.append(el("span", { class: "error" }, "未被接受 Refused: ", draft.message), drop);
    } else {
      item.append(both("等待发送：联网后自动发送", "Waiting: sent as soon as the connection returns"));
    }
    return item;
  }

  function drawMine() {
    $("mine").replaceChildren(...GS.mine().map((report) => el("li", { "data-public-id": report.public_id },
      el("strong", {}, categoryName(report.category)), ` · ${report.public_id} · `,
      both("已送达", "Received"), el("br"),
      el("a", { href: `/track#${report.secret}` }, "跟踪进度 ", el("span", { class: "en" }, "Track it")),
      report.message ? el("p", { class: "warning" }, report.message) : null)));
  }

  function showNetwork() {
    $("network").hidden = navigator.onLine;
  }

  async function start() {
    const answer = await api("/residents/config.json").catch(() => null);
    state.config = answer && answer.ok ? answer.body : { tiles: null, city_bbox: [-180, -90, 180, 90] };
    await loadCategories();
    setUpMap();
    $("locate").addEventListener("click", locate);
    $("camera").addEventListener("change", (event) => addPhotos(event.target));
    $("album").addEventListener("change", (event) => addPhotos(event.target));
    $("report").addEventListener("submit", submit);
    window.addEventListener("online", showNetwork);
    window.addEventListener("offline", showNetwork);
    showNetwork();
    Outbox.onChange(drawOutbox);
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
