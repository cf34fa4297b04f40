// The accounts page (admins): list, add, new password, disable, enable, remove. The server
// applies the same rules as `heard agents`; its refusals are shown as they come, as text.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const ROLES = { agent: "客服 agent", supervisor: "主管 supervisor", admin: "管理員 admin" };
  let state = { me: "", agents: [] };

  const say = (text, bad) => {
    $("message").textContent = text;
    $("message").className = bad ? "message bad" : "message";
  };

  async function call(path, body) {
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  }

  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  const button = (label, action) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.action = action;
    return b;
  };

  function render(answer) {
    state = answer;
    const rows = answer.agents.map((a) => {
      const tr = document.createElement("tr");
      tr.dataset.username = a.username;
      if (!a.active) tr.className = "disabled";
      tr.append(cell(a.username), cell(a.name), cell(ROLES[a.role] || a.role),
        cell(a.active ? "使用中 active" : "已停用 disabled"), cell(String(a.open_cases)));
      const actions = document.createElement("td");
      actions.className = "account-actions";
      actions.append(button("變更密碼 Password", "passwd"));
      if (a.username === answer.me) {
        const note = document.createElement("span");
        note.className = "muted";
        note.textContent = "（這是你 · you）";
        actions.append(note);
      } else {
        actions.append(a.active ? button("停用 Disable", "disable") : button("啟用 Enable", "enable"),
          button("移除 Remove", "remove"));
      }
      tr.appendChild(actions);
      return tr;
    });
    $("agents").replaceChildren(...rows);
  }

  const load = () => call("/console/api/admin/agents").then(render).catch((e) => say(e.message, true));
  const act = (username, action, body, done) =>
    call(`/console/api/admin/agents/${encodeURIComponent(username)}/${action}`, body || {})
      .then((answer) => { render(answer); say(done); })
      .catch((e) => say(e.message, true));

  $("agents").addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const username = target.closest("tr").dataset.username;
    const action = target.dataset.action;
    if (action === "disable") act(username, "disable", {}, `${username} 已停用，已登出所有裝置 · disabled and signed out`);
    if (action === "enable") act(username, "enable", {}, `${username} 可以再登入 · can sign in again`);
    if (action === "passwd") { $("passwd-user").textContent = username; $("passwd").hidden = false; $("passwd-form").password.focus(); }
    if (action === "remove") {
      $("remove-user").textContent = username;
      const select = $("remove-form").to;
      const team = new Option("團隊佇列 the team's queue", "");
      const others = state.agents.filter((a) => a.active && a.username !== username)
        .map((a) => new Option(`${a.name} (${a.username})`, a.username));
      select.replaceChildren(team, ...others);
      $("remove").hidden = false;
    }
  });

  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { username: form.username.value, name: form.name.value, role: form.role.value,
      password: form.password.value };
    call("/console/api/admin/agents", body)
      .then((answer) => { render(answer); form.reset(); say(`${body.username} 已新增，可以登入 · added`); })
      .catch((e) => say(e.message, true));
  });

  $("passwd-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    if (form.password.value !== form.again.value) { say("兩次輸入的密碼不同 · The passwords differ", true); return; }
    const username = $("passwd-user").textContent;
    act(username, "passwd", { password: form.password.value }, `${username} 的密碼已變更 · password changed`);
    form.reset();
    $("passwd").hidden = true;
  });

  $("remove-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const username = $("remove-user").textContent;
    const to = event.target.to.value;
    act(username, "remove", to ? { reassign_to: to } : { to_team: true },
      `${username} 已移除 · removed`);
    $("remove").hidden = true;
  });

  for (const cancel of document.querySelectorAll("button.cancel")) {
    cancel.addEventListener("click", () => { cancel.closest("section").hidden = true; });
  }
  load();
})();
