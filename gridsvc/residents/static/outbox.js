/* Reports waiting on the phone (IndexedDB) with their photos, sent exactly once.

A draft gets its Idempotency-Key when the resident presses "send", before any attempt, and
keeps it for ever: however often it is retried (network loss, reload, the answer lost on
the way back), the server answers the first issue again. Photos are sent after the issue
exists, one by one; before each pass the photos already on the server are counted, so a
photo whose answer was lost is not sent twice.
*/
"use strict";

const Outbox = (() => {
  const DATABASE = "gridsvc-residents";
  const STORE = "drafts";
  const RETRY_MS = 15000;
  const listeners = [];
  let running = null;

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function withStore(mode, work) {
    const database = await open();
    return new Promise((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const result = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => {
        database.close();
        resolve(result && "result" in result ? result.result : undefined);
      };
      transaction.onerror = () => reject(transaction.error);
    });
  }

  const put = (draft) => withStore("readwrite", (store) => store.put(draft));
  const remove = (key) => withStore("readwrite", (store) => store.delete(key));
  const all = () => withStore("readonly", (store) => store.getAll());

  function changed() {
    all().then((drafts) => listeners.forEach((listener) => listener(drafts)));
  }

  /** Keep a new report (body: the JSON of POST /api/v1/issues; photos: Blobs) and send it. */
  async function add(body, photos) {
    const draft = {
      key: GS.randomId(),
      body,
      photos: photos.map((blob) => ({ blob, type: blob.type })),
      made_at: new Date().toISOString(),
      issue: null,
      state: "waiting",
      message: null,
    };
    await put(draft);
    changed();
    sendAll();
    return draft.key;
  }

  async function createIssue(draft) {
    const answer = await GS.api("/api/v1/issues", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Idempotency-Key": draft.key,
        "X-Device-Id": GS.deviceId(),
      },
      body: JSON.stringify(draft.body),
    });
    if (answer.status === 201 || answer.status === 200) {
      const b = answer.body;
      draft.issue = { id: b.id, public_id: b.public_id, secret: b.secret };
      draft.place = { grid: b.grid, community: b.community };
      await put(draft);
      return true;
    }
    return refusedOrRetry(draft, answer);
  }

  /** A 4xx other than 408/429 will not change by retrying: say so and stop; else retry. */
  async function refusedOrRetry(draft, answer) {
    if (answer.status >= 400 && answer.status < 500 && ![408, 429].includes(answer.status)) {
      draft.state = "refused";
      draft.message = GS.detail(answer.body, answer.status);
      await put(draft);
      return false;
    }
    throw new Error(`server answered ${answer.status}`);
  }

  async function photosOnServer(draft) {
    const answer = await GS.api(`/api/v1/issues/${draft.issue.id}/photos`, {
      headers: { "X-Reporter-Secret": draft.issue.secret },
    });
    if (!answer.ok) throw new Error(`photos: ${answer.status}`);
    return answer.body.length;
  }

  async function sendPhotos(draft) {
    const sent = await photosOnServer(draft);
    for (let index = sent; index < draft.photos.length; index += 1) {
      const form = new FormData();
      const photo = draft.photos[index];
      form.append("photo", photo.blob, `photo-${index + 1}.${photo.type === "image/jpeg" ? "jpg" : "img"}`);
      const answer = await GS.api(`/api/v1/issues/${draft.issue.id}/photos`, {
        method: "POST",
        headers: { "X-Reporter-Secret": draft.issue.secret },
        body: form,
      });
      if (answer.status !== 201) {
        if (answer.status >= 500 || [408, 429].includes(answer.status)) {
          throw new Error(`photo: ${answer.status}`);
        }
        draft.message = `照片 ${index + 1} 未被接受 / photo ${index + 1} refused: ${GS.detail(answer.body, answer.status)}`;
      }
    }
  }

  async function sendOne(draft) {
    if (draft.state === "refused") return;
    if (!draft.issue && !(await createIssue(draft))) return;
    await sendPhotos(draft);
    GS.remember({
      public_id: draft.issue.public_id,
      secret: draft.issue.secret,
      category: draft.body.category,
      made_at: draft.made_at,
      place: draft.place || null,
      message: draft.message,
    });
    await remove(draft.key);
  }

  /** Try every waiting draft once; one run at a time, also across this phone's tabs. */
  function sendAll() {
    if (running) return running;
    const pass = async () => {
      for (const draft of await all()) {
        try {
          await sendOne(draft);
        } catch (error) {
          draft.state = "waiting";
          draft.message = navigator.onLine ? String(error.message || error) : null;
          await put(draft);
        }
      }
    };
    const locked = navigator.locks ? navigator.locks.request("gridsvc-outbox", pass) : pass();
    running = locked.finally(() => {
      running = null;
      changed();
    });
    return running;
  }

  function onChange(listener) {
    listeners.push(listener);
    changed();
  }

  window.addEventListener("online", () => sendAll());
  setInterval(() => {
    if (navigator.onLine) all().then((drafts) => drafts.length && sendAll());
  }, RETRY_MS);
  document.addEventListener("DOMContentLoaded", () => sendAll());

  return { add, all, onChange, remove, sendAll };
})();
