// Heard console: search across cases, and labels (queue filter, chips, add/remove).
// Loaded after console.js, whose window.heardConsole it calls. Everything from the
// server is put on the page with textContent.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const hc = window.heardConsole;
  if (!hc) return;
  let catalogue = new Map();   // label id -> {id, name, colour, free}
  const WHO = { customer: "客人說", agent: "客服說" };
  const FIELD = { customer: "客人姓名", order: "訂單編號", number: "案件編號" };

  // ---------------------------------------------------------------- labels

  function labelName(id) {
    const known = catalogue.get(id);
    return known ? known.name : id;
  }

  function chip(id) {
    const node = hc.el("span", labelName(id), "label-chip");
    node.dataset.label = id;
    const known = catalogue.get(id);
    if (known && known.colour) node.style.borderColor = known.colour;   // CSSOM, not inline CSS
    if (!known || known.free) node.classList.add("free");
    return node;
  }

  function chips(labels) {
    const box = hc.el("span", null, "labels");
    (labels || []).forEach((id) => box.appendChild(chip(id)));
    return box;
  }

  async function loadLabels() {
    const body = await hc.api("/console/api/labels");
    catalogue = new Map(body.labels.map((l) => [l.id, l]));
    const filter = $("label");
    const chosen = filter.value;
    filter.textContent = "";
    filter.appendChild(new Option("所有標籤", ""));
    body.labels.forEach((l) => filter.appendChild(new Option(l.name + (l.cases ? "（" + l.cases + "）" : ""), l.id)));
    filter.value = catalogue.has(chosen) ? chosen : "";
    const choices = $("label-choices");
    choices.textContent = "";
    body.labels.forEach((l) => choices.appendChild(new Option(l.name)));
  }

  function showCaseLabels(c) {
    const box = $("v-labels");
    box.textContent = "";
    (c.labels || []).forEach((id) => {
      const node = chip(id);
      const remove = hc.el("button", "×", "link remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "移除標籤 " + labelName(id));
      remove.addEventListener("click", () => change("unlabel", id));
      node.appendChild(remove);
      box.appendChild(node);
    });
    if (!(c.labels || []).length) box.appendChild(hc.el("span", "還沒有標籤", "muted"));
  }

  async function change(action, label) {
    const number = hc.current();
    if (!number) return;
    $("v-label-status").textContent = "";
    try {
      await hc.api("/console/api/cases/" + encodeURIComponent(number) + "/" + action, { method: "POST", body: JSON.stringify({ label }) });
      if (action === "label") $("v-label-new").value = "";
      await loadLabels();
      await hc.openCase(number);
      await hc.loadQueue();
    } catch (error) {
      $("v-label-status").textContent = error.message;
    }
  }

  document.addEventListener("heard:case", (event) => showCaseLabels(event.detail));
  document.addEventListener("heard:queue-item", (event) => {
    const { item, c } = event.detail;
    if (c.labels && c.labels.length) item.insertBefore(chips(c.labels), item.children[1] || null);
  });
  $("v-label-add").addEventListener("click", () => {
    const text = $("v-label-new").value.trim();
    if (text) change("label", text);
  });
  $("v-label-new").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); $("v-label-add").click(); }
  });

  // ---------------------------------------------------------------- search

  function result(hit) {
    const item = hc.el("li");
    item.dataset.number = hit.number;
    const line = hc.el("div", null, "line1");
    line.appendChild(hc.el("strong", hit.number));
    line.appendChild(hc.el("span", hit.customer || "-", "badge"));
    line.appendChild(hc.el("span", hit.stage, "badge"));
    item.appendChild(line);
    if (hit.labels && hit.labels.length) item.appendChild(chips(hit.labels));
    const where = hit.field === "message" ? (WHO[hit.who] || "") : (FIELD[hit.field] || "");
    const snippet = hc.el("p", null, "snippet");
    snippet.appendChild(hc.el("span", where + "：", "muted"));
    snippet.appendChild(hc.el("span", hit.snippet));
    item.appendChild(snippet);
    item.appendChild(hc.el("small", new Date(hit.received_at).toLocaleString(), "muted"));
    item.addEventListener("click", () => hc.openCase(hit.number));
    return item;
  }

  async function search(query) {
    const list = $("find-list");
    const status = $("find-status");
    $("find-results").hidden = false;
    list.textContent = "";
    status.textContent = "搜尋中…";
    try {
      const hits = await hc.api("/console/api/search?" + new URLSearchParams({ q: query, limit: "50" }));
      hits.forEach((hit) => list.appendChild(result(hit)));
      status.textContent = hits.length ? "找到 " + hits.length + " 件（由新到舊）" : "找不到符合「" + query + "」的案件";
    } catch (error) {
      status.textContent = error.message;
    }
  }

  $("find").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("find-q").value.trim();
    if (query) search(query);
  });
  $("find-close").addEventListener("click", () => {
    $("find-results").hidden = true;
    $("find-list").textContent = "";
    $("find-q").value = "";
  });

  loadLabels().then(() => hc.loadQueue()).catch((error) => { $("v-label-status").textContent = error.message; });
})();
