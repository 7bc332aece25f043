/* The residents' pages offline: the pages, their scripts and the category list are kept.

Network first (a fresh copy when there is one, 5 s at most), the kept copy otherwise. Only
GET requests of this origin listed below are kept; reports, photos and the reporter's
tracking answers never are: sending waits in the page's outbox (IndexedDB) instead.
*/
"use strict";

const CACHE = "gridsvc-residents-v2";
const TIMEOUT_MS = 5000;
const SHELL = [
  "/",
  "/report",
  "/track",
  "/reports",
  "/residents/residents.css",
  "/residents/common.js",
  "/residents/outbox.js",
  "/residents/photos.js",
  "/residents/report.js",
  "/residents/track.js",
  "/residents/reports.js",
  "/residents/config.json",
  "/static/leaflet/leaflet.js",
  "/static/leaflet/leaflet.css",
  "/static/leaflet/images/marker-icon.png",
  "/static/leaflet/images/marker-icon-2x.png",
  "/static/leaflet/images/marker-shadow.png",
  "/static/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
  "/static/gridsvc/reference.js",
  "/static/leaflet.markercluster/leaflet.markercluster.js",
  "/static/leaflet.markercluster/MarkerCluster.css",
  "/static/leaflet.markercluster/MarkerCluster.Default.css",
  "/api/v1/issue-categories",
];
const KEPT = new Set([...SHELL, "/api/v1/districts"]);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function withTimeout(promise) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), TIMEOUT_MS);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); });
  });
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request));
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!KEPT.has(url.pathname)) return;
  event.respondWith(networkFirst(event.request, url.pathname));
});
