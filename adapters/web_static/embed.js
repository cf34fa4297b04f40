// Heard web chat for a shop's own site:
//   <script src="https://support.example.com/static/embed.js" async></script>
// Adds a chat button in the corner that opens the chat in a panel (an iframe of Heard's page).
// Options on the script tag: data-lang="zh-TW|zh-CN|en" (else the visitor's browser
// languages decide, else zh-TW) and data-label (the button's text; else "客服" or its
// translation). The frame's words and the language choice come from frame_strings.js,
// which this loads from Heard (it defines one global, HeardFrame).
(() => {
  "use strict";
  const script = document.currentScript;
  const base = new URL(script ? script.src : "/static/embed.js", location.href).origin;
  const options = script ? script.dataset : {};

  function start() {
    const browserLanguages = navigator.languages && navigator.languages.length
      ? navigator.languages : [navigator.language];
    const locale = HeardFrame.choose(options.lang, browserLanguages);
    const label = options.label || HeardFrame.words(locale).openChat;
    const button = document.createElement("button");
    button.type = "button";
    button.lang = locale;
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
        frame.src = base + "/?lang=" + encodeURIComponent(locale);
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
  }

  if (window.HeardFrame) {
    start();
  } else {
    const strings = document.createElement("script");
    strings.src = base + "/static/frame_strings.js";
    strings.addEventListener("load", start);
    document.head.appendChild(strings);
  }
})();
