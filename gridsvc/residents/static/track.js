/* Following one's report by its secret: read from the link's fragment, sent as a header only. */
"use strict";

(() => {
  const { api, both, el } = GS;
  const STEPS = {
    report: ["受理", "Received"],
    route: ["分拨至网格", "Routed to a grid"],
    register: ["立案", "Registered as a case"],
    reject: ["不予立案", "Not taken as a case"],
    dispatch: ["派遣至", "Dispatched to"],
    whistle: ["派遣至", "Dispatched to"],
    decline: ["部门退回", "Returned by the department"],
    accept: ["处置", "Being handled"],
    resolve: ["处置完成", "Reported as handled"],
    verify: ["核查", "Checked on site"],
    send_back: ["核查未通过", "Check failed: handled again"],
    close: ["结案", "Closed"],
    reopen: ["重新办理", "Reopened"],
    merge: ["合并", "Merged with the same problem"],
    suspend: ["挂起", "On hold"],
    resume: ["恢复办理", "Resumed"],
    request_extension: ["申请延期", "More time asked"],
    extend: ["延期", "Deadline extended"],
    escalate: ["督办", "Under supervision"],
    rate: ["评价", "Rated"],
    sign_in: ["部门报到", "A department signed in"],
    report_part: ["部门反馈", "A department reported its part"],
    close_whistle: ["结束吹哨", "Joint handling ended"],
    prioritize: ["调整紧急程度", "Urgency changed"],
    publish: ["公开处理结果", "Result published"],
    unpublish: ["撤回公开", "No longer public"],
  };
  const STATUS = {
    unrouted: ["待分拨", "Waiting to be routed"],
    reported: ["已受理", "Received"],
    registered: ["已立案", "Registered"],
    rejected: ["不予立案", "Not taken"],
    dispatched: ["已派遣", "Dispatched"],
    in_progress: ["处置中", "Being handled"],
    resolved: ["待核查", "Awaiting the check"],
    verified: ["核查通过", "Checked"],
    closed: ["已结案", "Closed"],
    duplicate: ["已合并", "Merged"],
    suspended: ["挂起", "On hold"],
  };
  const $ = (id) => document.getElementById(id);
  let secret = "";
  let report = null;

  function say(node, className, ...content) {
    node.className = className;
    node.replaceChildren(...content);
    node.hidden = content.length === 0;
  }

  function withSecret(options = {}) {
    return { ...options, headers: { ...(options.headers || {}), "X-Reporter-Secret": secret } };
  }

  function stepItem(event) {
    const [chinese, english] = STEPS[event.action] || [event.action, event.action];
    // Each step names its own departments (派遣至 the one dispatched, not today's).
    const names = (event.departments || []).map((department) => department.name).join("、");
    const department = names ? ` ${names}` : "";
    return el("li", { "data-action": event.action },
      el("strong", {}, chinese + department), " ", el("span", { class: "en" }, english + department),
      el("time", { datetime: event.at }, GS.formatTime(event.at)));
  }

  async function photoImage(url, headers, alt) {
    const response = await fetch(url, headers ? { headers } : {});
    if (!response.ok) return null;
    return el("li", {}, el("img", { src: URL.createObjectURL(await response.blob()), alt }));
  }

  async function showResult() {
    if (!report.published) return;
    const answer = await api(`/api/v1/reports/${encodeURIComponent(report.public_id)}`).catch(() => null);
    if (!answer || !answer.ok) return;
    const properties = answer.body.properties;
    $("result").hidden = false;
    $("result-text").textContent = properties.text || "";
    const photos = await Promise.all(properties.photos.map((url, index) => photoImage(url, null, `结果照片 ${index + 1} Result photo`)));
    $("result-photos").replaceChildren(...photos.filter(Boolean));
  }

  async function showOwnPhotos() {
    const photos = await Promise.all(report.photos.map((id, index) => photoImage(
      `/api/v1/issues/${report.id}/photos/${id}`, { "X-Reporter-Secret": secret }, `我的照片 ${index + 1} My photo`)));
    $("photos").replaceChildren(...photos.filter(Boolean));
  }

  function draw() {
    const [chinese, english] = STATUS[report.status] || [report.status, report.status];
    $("title").replaceChildren(`${report.category.name} · ${report.public_id}`);
    $("summary").replaceChildren(
      el("strong", { "data-status": report.status }, chinese), " ", el("span", { class: "en" }, english),
      report.deadline ? el("span", {}, ` · 限期 Due ${GS.formatTime(report.deadline)}`) : "",
      report.merged_into ? el("span", {}, ` · 已并入 merged into ${report.merged_into}`) : "");
    $("timeline").replaceChildren(...report.history.map(stepItem));
    const closed = report.status === "closed";
    $("rate").hidden = !closed;
    $("reopen").hidden = !closed;
    $("report").hidden = false;
    showOwnPhotos();
    showResult();
  }

  async function load() {
    delete document.body.dataset.loaded;
    say($("message"), "", both("正在查询…", "Looking it up…"));
    let answer;
    try {
      answer = await api("/api/v1/track", withSecret());
    } catch (error) {
      say($("message"), "warning", both("没有网络，请稍后再试。", "No connection: try again later."));
      return;
    }
    if (!answer.ok) {
      $("report").hidden = true;
      say($("message"), "error", both("找不到此跟踪码对应的上报。", "No report has this tracking key."));
      return;
    }
    say($("message"), "");
    report = answer.body;
    draw();
    document.body.dataset.loaded = "true";
  }

  async function act(body) {
    const answer = await api("/api/v1/track", withSecret({
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    })).catch(() => null);
    const message = $("action-message");
    if (!answer) {
      say(message, "warning", both("没有网络，请稍后再试。", "No connection: try again later."));
    } else if (answer.ok) {
      report = answer.body;
      draw();
      say(message, "ok", body.rating ? both("感谢您的评价。", "Thank you for rating.") : both("已申请重新办理。", "Reopening asked."));
    } else if (answer.status === 409) {
      say(message, "error", both(body.rating ? "本次结案已评价过，不能重复评价。" : "无法重新办理。",
        GS.detail(answer.body, answer.status)));
    } else {
      say(message, "error", GS.detail(answer.body, answer.status));
    }
  }

  function start() {
    $("stars").replaceChildren(...[1, 2, 3, 4, 5].map((value) => el("label", {},
      el("input", { type: "radio", name: "rating", value: String(value), required: true }),
      ` ${"★".repeat(value)} ${value}`)));
    $("rate").addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = event.target.querySelector("input[name=rating]:checked");
      if (!chosen) {
        say($("action-message"), "error", both("请选择星级。", "Choose a rating."));
        return;
      }
      const note = $("rate-note").value.trim();
      act({ rating: Number(chosen.value), ...(note ? { note } : {}) });
    });
    $("reopen").addEventListener("submit", (event) => {
      event.preventDefault();
      const note = $("reopen-note").value.trim();
      act({ reopen: true, ...(note ? { note } : {}) });
    });
    $("lookup").addEventListener("submit", (event) => {
      event.preventDefault();
      secret = $("secret").value.trim();
      history.replaceState(null, "", `#${secret}`);
      load();
    });
    api("/residents/config.json").then((answer) => {
      if (answer.ok) $("window").textContent = String(answer.body.reopen_window_days);
    }).catch(() => undefined);
    const fromLink = () => {
      secret = decodeURIComponent(location.hash.slice(1)).trim();
      $("secret").value = secret;
      if (secret) load();
    };
    window.addEventListener("hashchange", fromLink);
    fromLink();
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
