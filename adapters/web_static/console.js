// Heard agent console. Everything from the server is put on the page with textContent.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const TITLE = "Heard 客服台";
  let current = null;       // the case number on screen
  let shown = null;         // the case whose actions are on screen (current, once loaded)
  let me = null;
  let waiting = 0;

  async function api(path, options = {}) {
    const response = await fetch(path, Object.assign({
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
    }, options));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString();
  }

  function ownerText(owner) {
    if (owner === "team") return "等待認領";
    if (owner && owner.startsWith("agent:")) return "由 " + owner.slice(6) + " 處理";
    return "機器人";
  }

  // ---------------------------------------------------------------- queue

  async function loadQueue() {
    const params = new URLSearchParams({ status: $("status").value, severity: $("severity").value, channel: $("channel").value, label: $("label") ? $("label").value : "" });
    const cases = await api("/console/api/cases?" + params);
    const list = $("cases");
    list.textContent = "";
    cases.forEach((c) => list.appendChild(queueItem(c)));
    $("empty").hidden = cases.length > 0;
    const open = await api("/console/api/cases?status=waiting");
    waiting = open.length;
    document.title = (waiting ? "(" + waiting + ") " : "") + TITLE;
  }

  function queueItem(c) {
    const item = el("li");
    item.dataset.number = c.number;
    if (c.number === current) item.classList.add("selected");
    const line = el("div", null, "line1");
    line.appendChild(el("strong", c.number));
    line.appendChild(el("span", c.severity, "badge sev-" + c.severity));
    line.appendChild(el("span", c.channel, "badge"));
    line.appendChild(el("span", ownerText(c.owner), "badge owner"));
    if (c.sla_breached) line.appendChild(el("span", "逾時", "badge breach"));
    item.appendChild(line);
    item.appendChild(el("p", c.summary, "text"));
    item.appendChild(el("small", "等待自 " + when(c.waiting_since), "muted"));
    item.addEventListener("click", () => openCase(c.number));
    document.dispatchEvent(new CustomEvent("heard:queue-item", { detail: { item, c } }));   // console_find.js
    return item;
  }

  // ---------------------------------------------------------------- case view

  function explain(c) {
    const x = c.explanation || {};
    if (!x.by) return "";
    const by = { keyword: "關鍵字", model: "模型", fallback: "模型不確定，採預設分類", none: "-" }[x.by] || x.by;
    const parts = [(c.situation_name ? "情境：" + c.situation_name + "；" : "") + "依據：" + by +
      (x.confidence !== undefined ? "（信心 " + Math.round(x.confidence * 100) + "%）" : "")];
    if (x.features && x.features.length) {
      parts.push("推動的字詞：" + x.features.map((f) => f.feature + " " + f.weight).join("、"));
    }
    if (x.nearest_example) parts.push("最接近的範例：「" + x.nearest_example.text + "」");
    return parts.join("\n");
  }

  // A photo or file the customer sent: a thumbnail, a download link, or why it was refused.
  function attachmentView(a) {
    const box = el("div", null, "attachment");
    if (a.url && a.kind === "image") {
      const link = el("a");
      link.href = a.url; link.target = "_blank"; link.rel = "noopener";
      const img = el("img", null, "thumb");
      img.src = a.url; img.alt = a.name || "照片"; img.loading = "lazy";
      link.appendChild(img);
      box.appendChild(link);
    } else if (a.url) {
      const link = el("a", "📎 " + (a.name || "檔案") + "（" + Math.ceil((a.size || 0) / 1024) + " KB）");
      link.href = a.url;
      box.appendChild(link);
    } else {
      box.appendChild(el("span", "〔未保存的" + (a.kind === "image" ? "照片" : "檔案") + "：" + (a.reason || "") + "〕", "refused"));
    }
    return box;
  }

  async function openCase(number) {
    current = number;
    const c = await api("/console/api/cases/" + encodeURIComponent(number));
    $("view").hidden = false;
    $("v-number").textContent = c.number;
    const badges = $("v-badges");
    badges.textContent = "";
    [c.severity, (c.category || "-") + (c.situation_name ? "／" + c.situation_name : ""), c.channel, c.stage, ownerText(c.owner)].forEach((t) => badges.appendChild(el("span", t, "badge")));
    if (c.sla_breached) badges.appendChild(el("span", "已逾首次回覆時限", "badge breach"));
    if ((c.history || []).some((h) => h.kind === "delivery_failed")) badges.appendChild(el("span", "有回覆未送達", "badge breach"));
    $("v-summary").textContent = c.summary || "";
    fill("v-signals", c.signal_hits, (s) => s.name + "（" + s.weight + "）：" + s.words.join("、"));
    $("v-words").textContent = (c.category_words || []).join("、");
    $("v-explain").textContent = explain(c);
    fill("v-remedies", c.remedies, (r) => (r.chosen ? "✔ " : "") + r.label + "：" + r.offer);
    $("v-commitment").textContent = c.commitment ? "承諾：" + c.commitment + (c.due_text ? "（" + c.due_text + " 前）" : "") : "";
    fill("v-earlier", c.earlier, (e) => e.number + " · " + e.stage + " · " + e.summary);
    const transcript = $("v-messages");
    transcript.textContent = "";
    c.messages.forEach((m) => {
      const item = el("li", null, m.from);
      item.appendChild(el("time", when(m.at)));
      const files = m.attachments || [];
      item.appendChild(el("span", m.text || (m.pressed && !files.length ? "〔按了：" + m.pressed + "〕" : "")));
      files.forEach((a) => item.appendChild(attachmentView(a)));
      transcript.appendChild(item);
    });
    transcript.scrollTop = transcript.scrollHeight;
    fill("v-notes", c.notes, (n) => n.agent + "：" + n.text);
    const canned = $("a-canned");
    canned.textContent = "";
    canned.appendChild(el("option", "常用回覆…"));
    canned.firstChild.value = "";
    Object.entries(c.canned || {}).forEach(([name, text]) => {
      const option = el("option", name);
      option.value = text;
      canned.appendChild(option);
    });
    const mine = me && c.owner === "agent:" + me.username;
    $("a-claim").disabled = c.stage !== "handoff" || c.owner !== "team";
    ["a-reply", "a-resolve", "a-handback", "a-transfer"].forEach((id) => {
      $(id).disabled = c.stage !== "handoff" || !(mine || c.owner === "team");
    });
    handBackChoices(c, $("a-handback").disabled || shown !== number);
    shown = number;
    document.dispatchEvent(new CustomEvent("heard:case", { detail: c }));   // console_find.js
    document.querySelectorAll(".cases li").forEach((li) => li.classList.toggle("selected", li.dataset.number === number));
  }

  // The hand-back choices: a choice that does not fit this case is disabled, with the
  // server's reason as its tooltip. A live refresh of the same case keeps the panel open.
  function handBackChoices(c, close) {
    if (close) showChoices(false);
    document.querySelectorAll("#a-handback-choices [data-then]").forEach((b) => {
      const why = (c.hand_back || {})[b.dataset.then];
      b.disabled = Boolean(why);
      b.title = why || b.dataset.hint;
    });
  }

  function showChoices(open) {
    $("a-handback-choices").hidden = !open;
    $("a-handback").setAttribute("aria-expanded", String(open));
  }

  function fill(id, items, text) {
    const list = $(id);
    list.textContent = "";
    (items || []).forEach((item) => list.appendChild(el("li", text(item))));
  }

  async function act(action, body) {
    if (!current) return;
    $("a-status").textContent = "";
    try {
      await api("/console/api/cases/" + encodeURIComponent(current) + "/" + action, { method: "POST", body: JSON.stringify(body || {}) });
      $("a-status").textContent = "完成";
      await openCase(current);
      await loadQueue();
      return true;
    } catch (error) {
      $("a-status").textContent = error.message;
      return false;
    }
  }

  // ---------------------------------------------------------------- live updates

  function beep() {
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch (error) { /* no sound available */ }
  }

  // Live news: server-sent events read with fetch, so the CSRF token travels in a header
  // (EventSource can only put it in the URL, where access logs keep it).
  const handlers = {};
  function on(type, handler) { handlers[type] = handler; }

  async function stream() {
    const response = await fetch("/console/api/events", {
      credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Accept": "text/event-stream" },
    });
    if (!response.ok || !response.body) throw new Error(response.statusText);
    $("live").classList.add("on");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message", data = "";
        block.split("\n").forEach((line) => {
          if (line.startsWith("event: ")) type = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        });
        if (data && handlers[type]) await handlers[type]({ data });
      }
    }
  }

  async function live() {
    for (;;) {
      try { await stream(); } catch (error) { /* reconnect below */ }
      $("live").classList.remove("on");
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }

  function listen() {
    const refresh = async (event) => {
      const data = JSON.parse(event.data);
      await loadQueue();
      if (current && data.case && data.case.number === current) await openCase(current);
      return data;
    };
    on("escalated", async (event) => {
      const data = await refresh(event);
      beep();
      $("alert").textContent = "新案件 " + data.case.number;
    });
    on("changed", refresh);
    on("message", refresh);
    on("sla", async (event) => {
      const data = await refresh(event);
      if (me && (me.role === "supervisor" || me.role === "admin")) {
        beep();
        $("alert").textContent = "逾時未認領：" + data.case.number;
      }
    });
    on("delivery", async (event) => {
      const data = await refresh(event);
      if (me && (me.role === "supervisor" || me.role === "admin")) {
        beep();
        $("alert").textContent = (data.status === "unconfirmed" ? "回覆可能未送達：" : "回覆未送達：") + data.case.number;
      }
    });
    live();
  }

  // ---------------------------------------------------------------- wiring

  $("a-claim").addEventListener("click", () => act("claim"));
  $("a-reply").addEventListener("click", async () => {
    if (await act("reply", { text: $("a-text").value })) $("a-text").value = "";
  });
  $("a-note").addEventListener("click", async () => {
    if (await act("note", { text: $("a-text").value })) $("a-text").value = "";
  });
  $("a-canned").addEventListener("change", () => { if ($("a-canned").value) $("a-text").value = $("a-canned").value; });
  $("a-commit").addEventListener("click", () => {
    const local = $("a-due").value;
    const due = local ? new Date(local).toISOString() : "";
    act("commit", { commitment: $("a-commitment").value, due_at: due });
  });
  $("a-resolve").addEventListener("click", () => act("resolve"));
  $("a-handback").addEventListener("click", () => showChoices($("a-handback-choices").hidden));
  $("a-handback-cancel").addEventListener("click", () => showChoices(false));
  document.querySelectorAll("#a-handback-choices [data-then]").forEach((b) => {
    b.addEventListener("click", async () => {
      if (await act("hand_back", { then: b.dataset.then })) showChoices(false);
    });
  });
  $("a-transfer").addEventListener("click", () => act("transfer", { to: $("a-transfer-to").value }));
  ["status", "severity", "channel", "label"].forEach((id) => $(id) && $(id).addEventListener("change", loadQueue));
  // What console_find.js (search, labels) calls into.
  window.heardConsole = { api, el, openCase, loadQueue, current: () => current };

  (async () => {
    me = await api("/console/api/me");
    const others = await api("/console/api/agents");
    others.filter((a) => a.username !== me.username).forEach((a) => {
      const option = el("option", a.name || a.username);
      option.value = a.username;
      $("a-transfer-to").appendChild(option);
    });
    await loadQueue();
    listen();
  })();
})();
