// Heard web chat for a shop's own site:
//   <script src="https://support.example.com/static/embed.js" async></script>
// Adds a chat button in the corner that opens the chat in a panel (an iframe of Heard's page).
(() => {
  "use strict";
  const script = document.currentScript;
  const base = new URL(script ? script.src : "/static/embed.js", location.href).origin;
  const label = (script && script.dataset.label) || "客服";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-label", label);
  Object.assign(button.style, {
    position: "fixed", right: "20px", bottom: "20px", zIndex: "2147483000", border: "0",
    borderRadius: "999px", padding: "12px 20px", background: "#06c755", color: "#fff",
    font: "600 16px system-ui, sans-serif", boxShadow: "0 4px 12px rgba(0,0,0,.2)", cursor: "pointer",
  });
  let frame = null;
  button.addEventListener("click", () => {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = base + "/";
      frame.title = label;
      Object.assign(frame.style, {
        position: "fixed", right: "20px", bottom: "80px", width: "min(380px, calc(100vw - 40px))",
        height: "min(600px, calc(100vh - 120px))", border: "0", borderRadius: "16px",
        boxShadow: "0 8px 30px rgba(0,0,0,.25)", zIndex: "2147483000", background: "#fff",
      });
      document.body.appendChild(frame);
    } else {
      frame.style.display = frame.style.display === "none" ? "block" : "none";
    }
  });
  document.body.appendChild(button);
})();
