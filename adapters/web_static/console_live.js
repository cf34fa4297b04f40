// The agent console's notices and live news: the sound, browser notifications (asked once,
// from the agent's click) and the server-sent event stream, read with fetch so the CSRF
// token travels in a header. Loaded before console.js, which uses window.heardLive.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);

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

  // Browser notifications: asked once, from the agent's click on "開啟通知".
  const ASKED = "heard-notify-asked";
  function notifyButton() {
    const can = "Notification" in window;
    $("notify-ask").hidden = !can || Notification.permission !== "default" || localStorage.getItem(ASKED) === "1";
  }
  $("notify-ask").addEventListener("click", async () => {
    localStorage.setItem(ASKED, "1");
    let answer = "default";
    try { answer = await Notification.requestPermission(); } catch (error) { /* old browsers */ }
    notifyButton();
    $("notify-ask").hidden = true;
    $("alert").textContent = (answer === "granted" ? "已開啟通知：客人有新訊息時會通知您" : "沒有開啟通知；之後可以在瀏覽器的網站設定開啟");
  });

  // A notification for case `c`; clicking it brings the console forward and calls `opened`.
  function notify(c, opened) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const note = new Notification(c.number + " " + (c.customer || "客人"), { body: c.preview || c.summary || "", tag: c.number });
      note.onclick = () => { window.focus(); opened(); };
    } catch (error) { /* notifications refused by the browser */ }
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

  window.heardLive = { beep, notify, notifyButton, on, live };
})();
