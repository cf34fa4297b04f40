// Heard agent console. Everything from the server is put on the page with textContent.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const TITLE = "Heard 客服台";
  const PHONE = window.matchMedia("(max-width: 600px)");
  let current = null;       // the case number on screen
  let shown = null;         // the case whose actions are on screen (current, once loaded)
  let me = null;
  let words = { severities: {}, stages: {}, signals: {}, outcomes: {}, owners: {}, categories: {}, situations: {} };
  let queue = [];           // the cases listed, as the server sent them
  let mineUnread = {};      // case number -> unread customer messages, over every open case
  let people = {};          // agent username -> display name

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

  // ---------------------------------------------------------------- names and times

  const name = (part, key) => (words[part] && words[part][key]) || key || "";

  // Times in the team's time zone (the dialog's), with the zone named: never the browser's.
  function when(iso) {
    if (!iso) return "";
    const format = new Intl.DateTimeFormat(words.locale || "zh-TW", {
      timeZone: words.timezone || undefined, month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    return format.format(new Date(iso)) + " " + (words.zone || "");
  }

  // "12 分鐘", "2 小時 5 分鐘", "3 天 4 小時": how long someone has been waiting.
  function waited(iso, now = Date.now()) {
    const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
    if (minutes < 1) return "不到 1 分鐘";
    if (minutes < 60) return minutes + " 分鐘";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " 小時" + (minutes % 60 ? " " + (minutes % 60) + " 分鐘" : "");
    return Math.floor(hours / 24) + " 天" + (hours % 24 ? " " + (hours % 24) + " 小時" : "");
  }

  function ownerText(owner) {
    if (owner && owner.startsWith("agent:")) return "由 " + (people[owner.slice(6)] || owner.slice(6)) + " 處理";
    return name("owners", owner) || "機器人";
  }

  function categoryText(c) {
    const situation = c.situation && (words.situations[c.category] || {})[c.situation];
    return name("categories", c.category) + (situation ? "／" + situation : "");
  }

  function say(text) {
    $("a-status").textContent = text;
  }

  // ---------------------------------------------------------------- queue

  async function loadQueue() {
    const params = new URLSearchParams({ status: $("status").value, severity: $("severity").value, channel: $("channel").value, label: $("label") ? $("label").value : "" });
    queue = await api("/console/api/cases?" + params);
    const list = $("cases");
    list.textContent = "";
    queue.forEach((c) => list.appendChild(queueItem(c)));
    $("empty").hidden = queue.length > 0;
    // every open case counts in the title, whatever the filters show
    const filtered = ["severity", "channel", "label"].some((key) => params.get(key));
    const open = params.get("status") === "open" && !filtered ? queue : await api("/console/api/cases?status=open");
    mineUnread = {};
    open.forEach((c) => { if (c.unread) mineUnread[c.number] = c.unread; });
    countUnread();
    return open;
  }

  function queueItem(c) {
    const item = el("li");
    item.dataset.number = c.number;
    if (c.number === current) item.classList.add("selected");
    if (c.unread) item.classList.add("unread");
    const line = el("div", null, "line1");
    line.appendChild(el("strong", c.number));
    line.appendChild(el("span", name("severities", c.severity), "badge sev-" + c.severity));
    line.appendChild(el("span", c.channel, "badge"));
    line.appendChild(el("span", ownerText(c.owner), "badge owner"));
    if (c.sla_breached) line.appendChild(el("span", "逾時", "badge breach"));
    if (c.unread) {
      const badge = el("span", String(c.unread), "badge unread-count");
      badge.title = c.unread + " 則客人的新訊息";
      line.appendChild(badge);
    }
    item.appendChild(line);
    item.appendChild(el("p", c.customer || "（客人未留名）", "who"));
    const preview = el("p", c.preview ? "「" + c.preview + "」" : c.summary, "text");
    if (c.last_from === "customer") preview.classList.add("from-customer");
    item.appendChild(preview);
    // waiting_from: the customer's first message since a person last answered (none: answered)
    const since = c.stage === "handoff" ? c.waiting_from : null;
    const small = el("small", since ? "客人等了 " + waited(since)
      : (c.last_from === "agent" ? "已回覆 · " : "最後更新 ") + when(c.last_at || c.waiting_since), "muted waited");
    if (since) small.dataset.since = since;
    item.appendChild(small);
    item.addEventListener("click", () => openCase(c.number, { user: true }));
    document.dispatchEvent(new CustomEvent("heard:queue-item", { detail: { item, c } }));   // console_find.js
    return item;
  }

  // Waiting times in words are refreshed each minute without asking the server.
  setInterval(() => {
    document.querySelectorAll(".cases .waited[data-since]").forEach((node) => {
      node.textContent = "客人等了 " + waited(node.dataset.since);
    });
  }, 60000);

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

  function author(m, c) {
    if (m.from === "customer") return m.by || c.customer || "客人";
    if (m.from === "agent") return m.by || "客服";
    return "機器人";
  }

  function clearForms() {
    ["a-text", "a-commitment", "a-due", "c-note-text"].forEach((id) => { $(id).value = ""; });
    $("a-canned").value = "";
    $("a-text").dataset.mode = "reply";
    $("canned-filter").hidden = true;
    say("");
  }

  // options.user: the agent opened it (history entry, phone full screen); otherwise a
  // live refresh of the case already on screen.
  async function openCase(number, options = {}) {
    const switching = number !== shown;
    current = number;
    if (options.user && (!history.state || history.state.case !== number)) {
      history.pushState({ case: number }, "", "#" + encodeURIComponent(number));
    }
    const c = await api("/console/api/cases/" + encodeURIComponent(number));
    if (current !== number) return;         // another case was opened meanwhile
    if (switching) clearForms();
    document.body.classList.add("reading");
    $("view").hidden = false;
    $("v-number").textContent = c.number;
    const badges = $("v-badges");
    badges.textContent = "";
    badges.appendChild(el("span", name("severities", c.severity), "badge sev-" + c.severity));
    [categoryText(c) || "-", c.channel, name("stages", c.stage), ownerText(c.owner)].forEach((t) => badges.appendChild(el("span", t, "badge")));
    if (c.sla_breached) badges.appendChild(el("span", "已逾首次回覆時限", "badge breach"));
    if ((c.history || []).some((h) => h.kind === "delivery_failed")) badges.appendChild(el("span", "有回覆未送達", "badge breach"));
    $("v-summary").textContent = c.summary || "";
    fill("v-signals", c.signal_hits, (s) => name("signals", s.name) + "（" + s.weight + "）：" + s.words.join("、"));
    $("v-words").textContent = (c.category_words || []).join("、");
    $("v-explain").textContent = explain(c);
    fill("v-remedies", c.remedies, (r) => (r.chosen ? "✔ " : "") + r.label + "：" + r.offer);
    $("v-commitment").textContent = c.commitment ? "承諾：" + c.commitment + (c.due_text ? "（" + c.due_text + " 前）" : "") : "";
    fill("v-earlier", c.earlier, (e) => e.number + " · " + name("stages", e.stage) + " · " + e.summary);
    transcript(c);
    fill("v-notes", c.notes, (n) => (people[n.agent] || n.agent) + "：" + n.text + "（" + when(n.at) + "）");
    cannedOptions(c.canned || {});
    const mine = me && c.owner === "agent:" + me.username;
    $("a-claim").disabled = c.stage !== "handoff" || c.owner !== "team";
    ["a-reply", "a-resolve", "a-handback", "a-transfer"].forEach((id) => {
      $(id).disabled = c.stage !== "handoff" || !(mine || c.owner === "team");
    });
    handBackChoices(c, $("a-handback").disabled || switching);
    shown = number;
    document.querySelectorAll(".cases li").forEach((li) => li.classList.toggle("selected", li.dataset.number === number));
    if (!document.hidden) await markRead(number);
    document.dispatchEvent(new CustomEvent("heard:case", { detail: c }));   // console_find.js, console_contact.js
    return c;
  }

  function transcript(c) {
    const list = $("v-messages");
    list.textContent = "";
    c.messages.forEach((m) => {
      const item = el("li", null, m.from);
      const head = el("div", null, "said");
      head.appendChild(el("b", author(m, c), "author"));
      head.appendChild(el("time", when(m.at)));
      item.appendChild(head);
      const files = m.attachments || [];
      item.appendChild(el("span", m.text || (m.pressed && !files.length ? "〔按了：" + m.pressed + "〕" : ""), "body"));
      files.forEach((a) => item.appendChild(attachmentView(a)));
      list.appendChild(item);
    });
    list.scrollTop = list.scrollHeight;
  }

  function cannedOptions(canned) {
    const select = $("a-canned");
    const chosen = select.value;
    select.textContent = "";
    select.appendChild(el("option", "常用回覆…"));
    select.firstChild.value = "";
    Object.entries(canned).forEach(([title, text]) => {
      const option = el("option", title);
      option.value = text;
      select.appendChild(option);
    });
    select.value = chosen;
  }

  // Read: the badge goes and the title counts one less; the list keeps its order until
  // the next news, so j/k walk on through the same list.
  async function markRead(number) {
    if (!mineUnread[number]) return;
    try {
      await api("/console/api/read/" + encodeURIComponent(number), { method: "POST", body: "{}" });
    } catch (error) { return; /* the next refresh shows it unread again */ }
    delete mineUnread[number];
    const item = document.querySelector('.cases li[data-number="' + CSS.escape(number) + '"]');
    if (item) {
      item.classList.remove("unread");
      item.querySelectorAll(".unread-count").forEach((badge) => badge.remove());
    }
    countUnread();
  }

  function countUnread() {
    const count = Object.keys(mineUnread).length;
    document.title = (count ? "(" + count + ") " : "") + TITLE;
  }

  function closeCase() {
    current = null;
    shown = null;
    document.body.classList.remove("reading");
    $("view").hidden = true;
    document.querySelectorAll(".cases li.selected").forEach((li) => li.classList.remove("selected"));
  }

  window.addEventListener("popstate", (event) => {
    const number = event.state && event.state.case;
    if (number) openCase(number); else closeCase();
  });
  $("back").addEventListener("click", () => {
    if (history.state && history.state.case) history.back(); else closeCase();
  });

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

  // Every action says what it did, naming the case.
  const DONE = {
    claim: (n) => "已接手 " + n,
    reply: () => "已送出回覆",
    note: () => "已存成內部備註",
    commit: (n) => "已設定承諾 " + n,
    resolve: (n) => "已處理 " + n + "，已排定回訪",
    hand_back: (n) => "已交回機器人 " + n,
    transfer: (n, body) => "已轉交 " + n + " 給 " + ($("a-transfer-to").selectedOptions[0] || {}).textContent,
  };

  async function act(action, body) {
    if (!current) return false;
    const number = current;
    say("");
    try {
      await api("/console/api/cases/" + encodeURIComponent(number) + "/" + action, { method: "POST", body: JSON.stringify(body || {}) });
      await openCase(number);
      await loadQueue();
      say(DONE[action] ? DONE[action](number, body) : "完成");
      return true;
    } catch (error) {
      say("沒有完成：" + error.message);
      return false;
    }
  }

  // Sound, notifications and the live stream: console_live.js.
  const { beep, notifyButton } = window.heardLive;
  const notify = (c) => window.heardLive.notify(c, () => openCase(c.number, { user: true }));
  const on = window.heardLive.on;
  const live = window.heardLive.live;

  // A case's news: the queue is read again; the case on screen is refreshed (and, seen,
  // marked read); a customer message left unread for me sounds and notifies.
  async function refresh(event, customerWrote) {
    const data = JSON.parse(event.data);
    const number = data.case && data.case.number;
    const open = await loadQueue();
    if (current && number === current) await openCase(current);
    const unread = open.find((c) => c.number === number && mineUnread[c.number]);
    if (customerWrote && unread) {
      beep();
      notify(unread);
    }
    return data;
  }

  function listen() {
    on("escalated", async (event) => {
      const data = await refresh(event, true);
      $("alert").textContent = "新案件 " + data.case.number;
    });
    on("changed", (event) => refresh(event, false));
    on("message", (event) => refresh(event, true));
    on("sla", async (event) => {
      const data = await refresh(event, false);
      if (me && (me.role === "supervisor" || me.role === "admin")) {
        beep();
        $("alert").textContent = "逾時未認領：" + data.case.number;
      }
    });
    on("delivery", async (event) => {
      const data = await refresh(event, false);
      if (me && (me.role === "supervisor" || me.role === "admin")) {
        beep();
        $("alert").textContent = (data.status === "unconfirmed" ? "回覆可能未送達：" : "回覆未送達：") + data.case.number;
      }
    });
    live();
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && current) markRead(current);
  });

  // ---------------------------------------------------------------- wiring

  async function send(mode) {
    const text = $("a-text").value;
    if (await act(mode, { text })) $("a-text").value = "";
  }

  $("a-claim").addEventListener("click", () => act("claim"));
  $("a-reply").addEventListener("click", () => send("reply"));
  $("a-note").addEventListener("click", () => send("note"));
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
  // For the other console scripts (shortcuts, search, labels).
  window.heardConsole = {
    openCase: (number) => openCase(number, { user: true }), loadQueue, closeCase, act, send, api, el, when,
    fill, say, name, current: () => current, queue: () => queue, words: () => words,
  };

  (async () => {
    [me, words] = await Promise.all([api("/console/api/me"), api("/console/api/words")]);
    document.querySelectorAll("#severity option[value]").forEach((option) => {
      if (option.value) option.textContent = name("severities", option.value);
    });
    const others = await api("/console/api/agents");
    others.forEach((a) => { people[a.username] = a.name || a.username; });
    others.filter((a) => a.username !== me.username).forEach((a) => {
      const option = el("option", a.name || a.username);
      option.value = a.username;
      $("a-transfer-to").appendChild(option);
    });
    notifyButton();
    await loadQueue();
    const start = decodeURIComponent(location.hash.slice(1));
    if (start) {
      history.replaceState({ case: start }, "", location.hash);
      openCase(start).catch(() => closeCase());
    }
    listen();
  })();
})();
