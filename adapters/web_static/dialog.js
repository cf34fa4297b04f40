// Run story files against the live dialog from the console (admins).
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  $("s-run").addEventListener("click", async () => {
    $("s-result").textContent = "…";
    const response = await fetch("/console/api/stories", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "text/plain" },
      body: $("s-text").value,
    });
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (body.error) { $("s-result").textContent = body.error; return; }
    $("s-result").textContent = body.failures.concat([body.passed + " passed, " + body.failed + " failed"]).join("\n");
  });
})();
