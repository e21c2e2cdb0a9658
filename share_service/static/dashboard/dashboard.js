/* share_service dashboard: refresh today's figures every N seconds (polling the stats API with
   the dashboard's own session), and show the custom dates only for a custom period. */
(function () {
  "use strict";

  function fmt(n, lang) {
    try { return new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB").format(n); }
    catch (e) { return String(n); }
  }

  function startLive() {
    var box = document.getElementById("live");
    if (!box) return;
    var url = box.getAttribute("data-live-url");
    var every = Math.max(1, parseInt(box.getAttribute("data-refresh"), 10) || 30) * 1000;
    var stamp = document.getElementById("live-updated");
    var lang = document.documentElement.lang;

    function refresh() {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) { if (!resp.ok) throw new Error(resp.status); return resp.json(); })
        .then(function (data) {
          var cur = data.current;
          box.querySelectorAll("[data-live]").forEach(function (el) {
            var key = el.getAttribute("data-live");
            if (cur[key] !== undefined && cur[key] !== null) el.textContent = fmt(cur[key], lang);
          });
          var now = new Date();
          stamp.textContent = now.toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB");
          stamp.setAttribute("datetime", now.toISOString());
          box.setAttribute("data-refreshed", String(Date.now()));
        })
        .catch(function () { box.setAttribute("data-stale", "1"); });
    }
    refresh();
    setInterval(refresh, every);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  }

  function customDates() {
    var period = document.getElementById("f-period");
    if (!period) return;
    var from = document.getElementById("f-from"), to = document.getElementById("f-to");
    function sync() {
      var custom = period.value === "custom";
      [from, to].forEach(function (el) { el.closest("label").hidden = !custom; el.disabled = !custom; });
    }
    [from, to].forEach(function (el) {
      el.addEventListener("change", function () { period.value = "custom"; sync(); });
    });
    period.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () { startLive(); customDates(); });
})();
