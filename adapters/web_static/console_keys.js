// Keyboard shortcuts of the agent console (shown with "?") and the "/" filter over canned
// replies in the reply box. Shortcuts never fire while typing, except Esc, and "/" at the
// start of the reply box.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const desk = () => window.heardConsole;
  const text = $("a-text");
  const filter = $("canned-filter");
  let picked = 0;

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function showHelp(open) {
    $("help").hidden = !open;
    if (open) $("help-close").focus();
  }

  // j / k: the next or previous case in the queue, as listed.
  function step(by) {
    const items = Array.from(document.querySelectorAll(".cases li"));
    if (!items.length) return;
    const at = items.findIndex((li) => li.dataset.number === desk().current());
    const next = items[Math.min(items.length - 1, Math.max(0, at < 0 ? 0 : at + by))];
    next.scrollIntoView({ block: "nearest" });
    desk().openCase(next.dataset.number);
  }

  function write(mode) {
    if (!desk().current()) return;
    text.dataset.mode = mode;
    text.placeholder = mode === "note"
      ? "內部備註（客人看不到）；Ctrl+Enter 存成備註"
      : "回覆客人（會送到客人的 LINE／Telegram／網頁）；開頭打 / 搜尋常用回覆";
    text.focus();
  }

  function resolve() {
    const number = desk().current();
    if (!number || $("a-resolve").disabled) return;
    if (window.confirm("將 " + number + " 標為已處理，並排定回訪？")) desk().act("resolve");
  }

  const KEYS = {
    j: () => step(1), k: () => step(-1),
    r: () => write("reply"), n: () => write("note"),
    c: () => { if (!$("a-claim").disabled) desk().act("claim"); },
    e: resolve,
    "?": () => showHelp($("help").hidden),
  };

  function escape() {
    if (!$("help").hidden) return showHelp(false);
    if (!filter.hidden) return closeFilter(true);
    if (typing(document.activeElement)) return document.activeElement.blur();
    if (desk().current()) return $("back").click();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { escape(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const run = KEYS[event.key];
    if (run) { event.preventDefault(); run(); }
  });
  $("keys-help").addEventListener("click", () => showHelp($("help").hidden));
  $("help-close").addEventListener("click", () => showHelp(false));

  // ---------------------------------------------------------------- canned replies

  function canned() {
    return Array.from($("a-canned").options).filter((o) => o.value)
      .map((o) => ({ title: o.textContent, text: o.value }));
  }

  function matches() {
    const query = text.value.slice(1).trim().toLowerCase();
    return canned().filter((c) => !query || c.title.toLowerCase().includes(query) || c.text.toLowerCase().includes(query));
  }

  function drawFilter() {
    const found = matches();
    filter.textContent = "";
    picked = Math.min(picked, Math.max(0, found.length - 1));
    if (!found.length) {
      filter.appendChild(desk().el("li", "沒有符合的常用回覆", "muted"));
    }
    found.forEach((c, i) => {
      const item = desk().el("li");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(i === picked));
      item.appendChild(desk().el("b", c.title));
      item.appendChild(desk().el("span", " " + c.text, "muted"));
      item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(c); });
      filter.appendChild(item);
    });
    filter.hidden = false;
  }

  function choose(c) {
    text.value = c.text;
    closeFilter(false);
    text.focus();
  }

  function closeFilter(clear) {
    filter.hidden = true;
    if (clear && text.value.startsWith("/")) text.value = "";
  }

  text.addEventListener("input", () => {
    if (text.value.startsWith("/")) drawFilter(); else closeFilter(false);
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && filter.hidden) {
      event.preventDefault();
      desk().send(text.dataset.mode === "note" ? "note" : "reply");
      return;
    }
    if (filter.hidden) return;
    const found = matches();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      picked = (picked + (event.key === "ArrowDown" ? 1 : found.length - 1)) % Math.max(1, found.length);
      drawFilter();
    } else if (event.key === "Enter" && found.length) {
      event.preventDefault();
      choose(found[picked]);
    }
  });
})();
