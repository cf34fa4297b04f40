// The contact panel of the agent console: who the customer is, all their cases, and notes
// on the customer that every agent sees on every case of theirs. Filled on "heard:case",
// which console.js sends each time a case is shown; everything goes on the page as text.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const desk = () => window.heardConsole;
  const api = (...args) => desk().api(...args);
  const el = (...args) => desk().el(...args);
  const when = (iso) => desk().when(iso);
  const name = (part, key) => desk().name(part, key);
  const fill = (...args) => desk().fill(...args);
  const say = (text) => desk().say(text);
  const openCase = (number) => desk().openCase(number);

  // The platform's language code (zh-hant, zh-TW, en-US …) as people say it.
  function languageName(code) {
    if (!code) return "-";
    const c = String(code).toLowerCase();
    if (c.startsWith("zh")) return /hans|cn|sg/.test(c) ? "簡體中文" : "繁體中文";
    const names = { en: "英文", ja: "日文", ko: "韓文", th: "泰文", vi: "越南文", id: "印尼文" };
    return names[c.split(/[-_]/)[0]] || String(code);
  }

  async function contactPanel(key) {
    const panel = $("contact");
    panel.dataset.key = key || "";
    if (!key) { panel.hidden = true; return; }
    let person;
    try {
      person = await api("/console/api/customers/" + encodeURIComponent(key));
    } catch (error) {
      panel.hidden = true;
      return;
    }
    if (panel.dataset.key !== key) return;
    panel.hidden = false;
    const facts = $("c-facts");
    facts.textContent = "";
    [["名字", person.name || "（未留名）"], ["管道", person.channel], ["語言", languageName(person.language)],
     ["第一次聯絡", when(person.first_seen)], ["最近聯絡", when(person.last_seen)],
     ["狀態", person.blocked ? "已封鎖或取消追蹤（訊息送不到）" : "可以聯絡"]].forEach(([term, value]) => {
      facts.appendChild(el("dt", term));
      facts.appendChild(el("dd", value, term === "狀態" && person.blocked ? "blocked" : ""));
    });
    const cases = $("c-cases");
    cases.textContent = "";
    person.cases.forEach((k) => {
      const item = el("li");
      const link = el("button", k.number, "link");
      link.type = "button";
      link.addEventListener("click", () => openCase(k.number));
      item.appendChild(link);
      const bits = [name("stages", k.stage)];
      if (k.outcome) bits.push(name("outcomes", k.outcome));
      if (k.rating) bits.push("評分 " + k.rating + "/5");
      bits.push(when(k.received_at));
      item.appendChild(el("span", " · " + bits.join(" · ")));
      if (k.summary) item.appendChild(el("div", k.summary, "muted"));
      cases.appendChild(item);
    });
    customerNotes(person.notes);
  }

  function customerNotes(notes) {
    fill("c-notes", notes, (n) => n.agent_name + "：" + n.text + "（" + when(n.at) + "）");
  }

  $("c-note-add").addEventListener("click", async () => {
    const key = $("contact").dataset.key;
    if (!key) return;
    try {
      const body = await api("/console/api/customers/" + encodeURIComponent(key) + "/notes", {
        method: "POST", body: JSON.stringify({ text: $("c-note-text").value }),
      });
      customerNotes(body.notes);
      $("c-note-text").value = "";
      say("已新增客人備註");
    } catch (error) {
      say("備註沒有存到：" + error.message);
    }
  });

  document.addEventListener("heard:case", (event) => contactPanel(event.detail.customer_key));
})();
