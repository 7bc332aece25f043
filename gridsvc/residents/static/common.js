/* What every residents' page shares: the device id, API calls, small DOM helpers. */
"use strict";

const GS = (() => {
  const DEVICE_KEY = "gridsvc.device";
  const MINE_KEY = "gridsvc.mine";

  /** A random hex id (crypto.getRandomValues works on plain http intranets too). */
  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** This phone's stable id: anonymous Idempotency-Keys are scoped to it. */
  function deviceId() {
    let id = localStorage.getItem(DEVICE_KEY);
    if (!id) {
      id = randomId();
      localStorage.setItem(DEVICE_KEY, id);
    }
    return id;
  }

  /** The server's explanation of a refusal, as text. */
  function detail(body, status) {
    if (body && typeof body.detail === "string") return body.detail;
    return `HTTP ${status}`;
  }

  /** fetch + JSON; resolves {status, body}; rejects only when the network failed. */
  async function api(path, options = {}) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { status: response.status, ok: response.ok, body };
  }

  /** Create an element: el("p", {class: "x"}, "text", child). */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Chinese text with its English beside it. */
  function both(chinese, english) {
    const span = el("span", {}, chinese, " ");
    span.append(el("span", { class: "en" }, english));
    return span;
  }

  /** The reports sent from this phone: public id, secret, category, when. */
  function mine() {
    try {
      return JSON.parse(localStorage.getItem(MINE_KEY) || "[]");
    } catch (error) {
      return [];
    }
  }

  function remember(report) {
    const kept = mine().filter((item) => item.public_id !== report.public_id);
    kept.unshift(report);
    localStorage.setItem(MINE_KEY, JSON.stringify(kept.slice(0, 50)));
  }

  function trackingLink(secret) {
    return `${location.origin}/track#${secret}`;
  }

  function formatTime(text) {
    if (!text) return "";
    const moment = new Date(text);
    return Number.isNaN(moment.getTime()) ? text : moment.toLocaleString("zh-CN", { hour12: false });
  }

  function registerWorker() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js").catch(() => undefined);
    }
  }

  registerWorker();
  return { api, both, deviceId, detail, el, formatTime, mine, randomId, remember, trackingLink };
})();
