/* Live KPI pages: every data-poll-seconds (30 by default) ask the "last run" JSON for the newest
   successful KPI run of the page's granularity. The freshness line is kept current; when a newer
   run than the one the page was rendered from has landed, the page is fetched again and its
   [data-live-region] parts (cards, index card, header, charts, tables) are swapped in place, the
   charts redrawn, and a badge says when that run finished. No reload, so filters, scroll and focus stay put. */
(function () {
  "use strict";
  var box = document.querySelector(".kpi-freshness[data-last-run-url]");
  if (!box) return;
  var seconds = Number(box.dataset.pollSeconds) || 30;
  var text = box.querySelector("[data-testid=freshness-text]");
  var badge = box.querySelector("[data-testid=freshness-updated]");

  function stamp(value) {
    var time = Date.parse(value || "");
    return isNaN(time) ? 0 : time;
  }

  function destroyCharts(region) {
    if (typeof Chart === "undefined") return;
    region.querySelectorAll("canvas").forEach(function (canvas) {
      var chart = Chart.getChart(canvas);
      if (chart) chart.destroy();
    });
  }

  function swapRegions(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      var name = region.getAttribute("data-live-region");
      var replacement = fresh.querySelector('[data-live-region="' + name + '"]');
      if (!replacement) return;
      destroyCharts(region);
      var adopted = document.importNode(replacement, true);
      region.replaceWith(adopted);
      if (window.PulseCharts) window.PulseCharts.draw(adopted);
    });
  }

  function refresh(run) {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        swapRegions(html);
        box.dataset.computedAt = run.computed_at;
        badge.textContent = run.updated_text;
        badge.hidden = false;
      });
  }

  function poll() {
    fetch(box.dataset.lastRunUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (run) {
        text.textContent = run.text;
        if (stamp(run.computed_at) > stamp(box.dataset.computedAt)) return refresh(run);
        return null;
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }
  window.setTimeout(poll, seconds * 1000);
})();
