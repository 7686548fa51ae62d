/*
 * Pulse CRM chart loader: every <canvas class="kpi-chart" data-chart-url="…"> fetches the
 * Chart.js {labels, datasets} JSON of our django-chartjs views and draws it with Chart.js 4.
 * No inline script, so a strict Content-Security-Policy needs no exception.
 * Each canvas gets data-chart-state = loading | ready | empty | error (the browser tests read it).
 */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "en";
  var monthFormat = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short" });
  var dayFormat = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric" });

  function parseDate(iso) {
    // "2026-03-01" → local midnight, so the label never slips into the previous month.
    var parts = String(iso).split("-");
    return new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2] || 1));
  }

  function periodLabel(iso, granularity) {
    var date = parseDate(iso);
    if (isNaN(date.getTime())) return String(iso);
    if (granularity === "year") return String(date.getFullYear());
    if (granularity === "quarter") return "Q" + (Math.floor(date.getMonth() / 3) + 1) + " " + date.getFullYear();
    if (granularity === "month") return monthFormat.format(date);
    return dayFormat.format(date);
  }

  function valueFormatter(unit, currency, largest) {
    var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
    if (unit === "money") {
      // Whole units on a large axis; cents when every value is small (a CAC of 0.40 is not 0).
      var digits = largest >= 100 ? 0 : 2;
      var money = new Intl.NumberFormat(lang, {
        style: "currency", currency: currency, minimumFractionDigits: digits, maximumFractionDigits: digits
      });
      return function (v) { return money.format(v); };
    }
    if (unit === "rate") return function (v) { return number.format(v) + " %"; };
    if (unit === "minutes") return function (v) { return number.format(v) + " min"; };
    if (unit === "days") return function (v) { return number.format(v) + " d"; };
    return function (v) { return number.format(v); };
  }

  function setStatus(canvas, state, textKey) {
    canvas.dataset.chartState = state;
    var status = canvas.parentElement.querySelector(".kpi-chart-status");
    if (status) status.textContent = textKey ? status.dataset[textKey] || "" : "";
  }

  function draw(canvas, payload) {
    var hasPoint = payload.datasets.some(function (ds) {
      return ds.data.some(function (v) { return v !== null; });
    });
    if (!payload.labels.length || !hasPoint) {
      setStatus(canvas, "empty", "emptyText");
      canvas.hidden = true;
      return;
    }
    var largest = 0;
    payload.datasets.forEach(function (ds) {
      ds.data.forEach(function (v) {
        // A floating bar (waterfall step) is a [from, to] pair.
        var values = Array.isArray(v) ? v : [v];
        values.forEach(function (x) { if (x !== null) largest = Math.max(largest, Math.abs(x)); });
      });
    });
    var format = valueFormatter(payload.unit, payload.currency, largest);
    // Category charts (breakdown, funnel, waterfall) have names for labels, not period starts.
    var labels = payload.categorical ? payload.labels : payload.labels.map(function (l) { return periodLabel(l, payload.granularity); });
    var horizontal = payload.indexAxis === "y";
    var valueAxis = { beginAtZero: payload.unit !== "score" || payload.floating === true, ticks: { callback: format }, stacked: !!payload.stacked };
    var categoryAxis = { stacked: !!payload.stacked };
    var scales = horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    new Chart(canvas, {
      type: payload.chartType || "line",
      data: { labels: labels, datasets: payload.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        spanGaps: false,
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { display: payload.datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                if (ctx.raw === null) return ctx.dataset.label + ": n/a";
                if (Array.isArray(ctx.raw)) return ctx.dataset.label + ": " + format(ctx.raw[1] - ctx.raw[0]);
                var text = ctx.dataset.label + ": " + format(ctx.raw);
                var n = ctx.dataset.sampleSizes && ctx.dataset.sampleSizes[ctx.dataIndex];
                if (n !== null && n !== undefined) text += " (n=" + n + ")";
                if (ctx.dataset.lowSample && ctx.dataset.lowSample[ctx.dataIndex]) text += " ⚠";
                return text;
              }
            }
          }
        }
      }
    });
    setStatus(canvas, "ready", null);
  }

  function load(canvas) {
    setStatus(canvas, "loading", null);
    fetch(canvas.dataset.chartUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (payload) { draw(canvas, payload); })
      .catch(function () { setStatus(canvas, "error", "errorText"); });
  }

  function init() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas.kpi-chart[data-chart-url]").forEach(load);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
