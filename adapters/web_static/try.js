// "Try it as a customer" on the dialog page: turns run on the live dialog in the sandbox
// file (never the queue or the reports). Everything the bot says is shown as text.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const newCustomer = () => Array.from(crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  let customer = newCustomer();

  const line = (who, text) => {
    const item = document.createElement("li");
    item.className = who;
    item.textContent = text;
    $("t-log").appendChild(item);
    item.scrollIntoView({ block: "nearest" });
  };

  const buttons = (list) => {
    $("t-buttons").replaceChildren();
    for (const b of list) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.label;
      button.addEventListener("click", () => { line("me", b.label); send({ payload: b.payload }); });
      $("t-buttons").appendChild(button);
    }
  };

  async function send(what) {
    line("pending", "…");
    const waiting = $("t-log").lastChild;
    const body = await fetch("/console/api/try", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ customer, ...what }),
    }).then((r) => r.json().catch(() => ({ error: r.statusText })))
      .catch(() => ({ error: "連不上伺服器，請再試一次 · The server did not answer, try again" }));
    waiting.remove();
    if (body.error) { line("error", body.error); return; }
    $("t-notice").textContent = body.notice;
    let shown = [];
    for (const m of body.messages) { line("bot", m.text); if (m.buttons.length) shown = m.buttons; }
    buttons(shown);
    $("t-case").textContent = body.case
      ? `${body.case.number} · ${body.case.stage} · ${body.case.category || "-"} · ${body.case.severity}（測試 sandbox）`
      : "";
  }

  $("t-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("t-text").value;
    if (!text.trim()) return;
    $("t-text").value = "";
    line("me", text);
    send({ text });
  });
  $("t-new").addEventListener("click", () => {
    customer = newCustomer();
    $("t-log").replaceChildren();
    buttons([]);
    $("t-case").textContent = "";
  });
})();
