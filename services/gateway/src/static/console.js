// Bangban console: live updates over server-sent events and confirmations. Everything works without it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Forms that ask before they act (data-confirm="…").
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
    // Live updates: pages that show live data carry data-live on <main>.
    var main = document.querySelector("main[data-live]");
    var box = document.getElementById("live");
    if (!main || !box || !window.EventSource) { return; }
    var source = new EventSource("/api/v1/stream");
    var count = 0;
    source.onmessage = function () {};
    source.addEventListener("error", function () { /* the browser reconnects by itself */ });
    function show(e) {
      count += 1;
      var data = {};
      try { data = JSON.parse(e.data); } catch (err) { return; }
      box.hidden = false;
      box.querySelector("[data-count]").textContent = String(count);
      box.querySelector("[data-last]").textContent = (data.type || e.type) + " · " + (data.time || "");
    }
    ["case", "plan", "task", "supervision", "evaluation", "rectification", "problem"].forEach(function () {});
    source.addEventListener("message", show);
    var names = (main.getAttribute("data-live") || "").split(",");
    names.forEach(function (n) { if (n) { source.addEventListener(n, show); } });
  });
})();
