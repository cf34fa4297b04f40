// The web chat frame's words, one table per locale, and how the customer's language is chosen.
// Loaded by the chat page (before chat.js) and by embed.js on a shop's page; it defines one
// global, HeardFrame. zh-TW uses Taiwan wording, zh-CN mainland wording. Every locale has
// every key (a browser test checks).
(() => {
  "use strict";
  const STRINGS = {
    "zh-TW": {
      title: "客服 · Heard",
      heading: "客服中心",
      chat: "客服對話",
      restart: "新對話",
      restartHint: "開始新的對話",
      message: "訊息",
      placeholder: "請描述遇到的狀況…",
      send: "送出",
      attach: "傳照片",
      attachHint: "傳送照片或檔案（JPG、PNG、MP4、PDF）",
      photo: "〔照片〕",
      file: "〔檔案〕",
      caseNumber: "案件編號 {number}",
      notSent: "訊息沒有送出，請再試一次。",
      offline: "連線中斷，正在重新連線…",
      restartFailed: "無法開始新的對話，請再試一次。",
      openChat: "客服",
    },
    "zh-CN": {
      title: "客服 · Heard",
      heading: "客服中心",
      chat: "客服对话",
      restart: "新对话",
      restartHint: "开始新的对话",
      message: "消息",
      placeholder: "请描述遇到的情况…",
      send: "发送",
      attach: "传照片",
      attachHint: "发送照片或文件（JPG、PNG、MP4、PDF）",
      photo: "〔照片〕",
      file: "〔文件〕",
      caseNumber: "案件编号 {number}",
      notSent: "消息没有发出去，请重试。",
      offline: "网络连接已断开，正在重新连接…",
      restartFailed: "无法开始新的对话，请重试。",
      openChat: "在线客服",
    },
    en: {
      title: "Support · Heard",
      heading: "Customer support",
      chat: "Support chat",
      restart: "New chat",
      restartHint: "Start a new conversation",
      message: "Message",
      placeholder: "Describe what happened…",
      send: "Send",
      attach: "Photo",
      attachHint: "Send a photo or file (JPG, PNG, MP4, PDF)",
      photo: "[photo]",
      file: "[file]",
      caseNumber: "Case {number}",
      notSent: "Your message wasn't sent. Please try again.",
      offline: "Connection lost. Reconnecting…",
      restartFailed: "Couldn't start a new conversation. Please try again.",
      openChat: "Support",
    },
  };
  const DEFAULT = "zh-TW";
  const TRADITIONAL = new Set(["hant", "tw", "hk", "mo"]);

  // A language tag ("zh-Hant-HK", "en-GB", "zh") as one of ours, or null for any other.
  function supported(tag) {
    const parts = String(tag || "").toLowerCase().split(/[-_]/);
    if (parts[0] === "en") return "en";
    if (parts[0] !== "zh") return null;
    if (parts.includes("hans")) return "zh-CN";   // zh-Hans-HK is Simplified
    return parts.slice(1).some((p) => TRADITIONAL.has(p)) ? "zh-TW" : "zh-CN";
  }

  // The explicit choice if it is one of ours, else the first of the browser's languages
  // that is, else zh-TW.
  function choose(explicit, browserLanguages) {
    for (const tag of [explicit, ...(browserLanguages || [])]) {
      const locale = supported(tag);
      if (locale) return locale;
    }
    return DEFAULT;
  }

  function words(locale) {
    return STRINGS[locale] || STRINGS[DEFAULT];
  }

  window.HeardFrame = Object.freeze({ strings: STRINGS, supported, choose, words, DEFAULT });
})();
