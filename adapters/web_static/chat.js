// Heard web chat. Everything from the server is rendered with textContent: never as HTML.
// Who the visitor is lives in an HttpOnly cookie the server sets: this script never sees it,
// and no id travels in a URL. The frame's words come from frame_strings.js (HeardFrame), in
// the language `?lang=` names, else the browser's; that language goes with every message as
// the customer's language hint.
(() => {
  "use strict";
  const POLL_MS = 3000;
  const $ = (id) => document.getElementById(id);
  const log = $("log"), form = $("form"), input = $("text"), send = $("send"), status = $("status");
  const browserLanguages = navigator.languages && navigator.languages.length
    ? navigator.languages : [navigator.language];
  const locale = HeardFrame.choose(new URLSearchParams(location.search).get("lang"), browserLanguages);
  const words = HeardFrame.words(locale);
  let lastId = 0;
  let busy = false;
  const labels = new Map();   // payload -> label, to show which button was pressed

  function translateFrame() {
    document.documentElement.lang = locale;
    document.title = words.title;
    document.querySelectorAll("[data-words]").forEach((el) => { el.textContent = words[el.dataset.words]; });
    ["title", "placeholder", "aria-label"].forEach((attribute) => {
      document.querySelectorAll(`[data-words-${attribute}]`).forEach((el) => {
        el.setAttribute(attribute, words[el.getAttribute(`data-words-${attribute}`)]);
      });
    });
  }

  function notice(text) { status.textContent = text; }

  function disableOldButtons() {
    log.querySelectorAll(".buttons button").forEach((b) => { b.disabled = true; });
  }

  function render(message) {
    if (message.id <= lastId) return;
    lastId = message.id;
    const item = document.createElement("li");
    item.className = "msg " + (message.from === "customer" ? "customer" : "bot");
    item.dataset.id = String(message.id);
    let text = message.text;
    if (message.from === "customer" && !text && message.pressed) {
      text = labels.get(message.pressed) || "✓";
    }
    if (message.file) text = (message.file === "image" ? words.photo : words.file) + (text ? " " + text : "");
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    item.appendChild(body);
    if (message.from === "bot" && message.buttons && message.buttons.length) {
      disableOldButtons();
      const row = document.createElement("div");
      row.className = "buttons";
      message.buttons.forEach((b) => {
        labels.set(b.payload, b.label);
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.label;
        button.addEventListener("click", () => post({ payload: b.payload }));
        row.appendChild(button);
      });
      item.appendChild(row);
    } else if (message.from === "customer") {
      disableOldButtons();
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function apply(state) {
    (state.messages || []).forEach(render);
    $("case").textContent = state.case ? words.caseNumber.replace("{number}", () => state.case.number) : "";
  }

  async function post(body) {
    if (busy) return;
    busy = true; send.disabled = true; notice("");
    const id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())).replace(/[^A-Za-z0-9_-]/g, "");
    try {
      const response = await fetch("/chat/api/messages", {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
        body: JSON.stringify(Object.assign({ id, after: lastId, language: locale }, body)),
      });
      if (!response.ok) throw new Error(await response.text());
      apply(await response.json());
      return true;
    } catch (error) {
      notice(words.notSent);
      return false;
    } finally {
      busy = false; send.disabled = false;
    }
  }

  // The upload button: the file goes as multipart with a header no other site can send.
  async function upload(file) {
    if (busy) return;
    busy = true; send.disabled = true; notice("");
    const data = new FormData();
    data.append("id", (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())).replace(/[^A-Za-z0-9_-]/g, ""));
    data.append("after", String(lastId));
    data.append("language", locale);
    data.append("file", file);
    try {
      const response = await fetch("/chat/api/upload", {
        method: "POST", headers: { "X-Heard-Chat": "1" }, credentials: "same-origin", body: data });
      if (!response.ok) throw new Error(await response.text());
      apply(await response.json());
    } catch (error) {
      notice(words.notSent);
    } finally {
      busy = false; send.disabled = false;
    }
  }

  async function poll() {
    if (busy) return;
    try {
      const response = await fetch("/chat/api/messages?after=" + lastId, { credentials: "same-origin" });
      if (response.ok) apply(await response.json());
      if (status.textContent === words.offline) notice("");
    } catch (error) {   // offline for a moment: say so; the next poll catches up
      notice(words.offline);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (await post({ text })) input.value = "";
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $("attach").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", async () => {
    const picked = $("file").files[0];
    $("file").value = "";
    if (picked) await upload(picked);
  });
  $("restart").addEventListener("click", async () => {
    busy = true;
    try {
      const response = await fetch("/chat/api/restart", {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin", body: "{}" });
      if (!response.ok) throw new Error(await response.text());
      lastId = 0; labels.clear();
      log.textContent = ""; $("case").textContent = ""; notice("");
    } catch (error) {
      notice(words.restartFailed);
    } finally { busy = false; }
  });

  translateFrame();
  poll();
  setInterval(poll, POLL_MS);
})();
