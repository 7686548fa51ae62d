/*
 * Pulse CRM chart loader: every <canvas class="kpi-chart" data-chart-url="…"> fetches the
 * Chart.js {labels, datasets} JSON of our django-chartjs views and draws it with Chart.js 4.
 * No inline script, so a strict Content-Security-Policy needs no exception.
 * Each canvas gets data-chart-state = loading | ready | empty | error (the browser tests read it).
 * A payload's `annotations` (KPI trend charts) are marked on the chart and listed under it.
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
    // The pages write negative figures with the minus sign U+2212, never a hyphen.
    var plain = rawFormatter(unit, currency, largest);
    return function (v) { return String(plain(v)).replace(/-/g, "\u2212"); };
  }

  function rawFormatter(unit, currency, largest) {
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

  // Annotation kinds → Bootstrap colours (canvas marker) and badge classes (list under the chart).
  var KIND_STYLES = {
    note: { color: "108, 117, 125", badge: "text-bg-secondary" },
    price_change: { color: "255, 193, 7", badge: "text-bg-warning" },
    campaign: { color: "25, 135, 84", badge: "text-bg-success" },
    outage: { color: "220, 53, 69", badge: "text-bg-danger" }
  };

  function kindStyle(kind) { return KIND_STYLES[kind] || KIND_STYLES.note; }

  function notesAt(notes, index) {
    return notes.filter(function (note) { return note.from <= index && index <= note.to; });
  }

  function dayRange(note) {
    var first = dayFormat.format(parseDate(note.startsOn));
    return note.startsOn === note.endsOn ? first : first + " – " + dayFormat.format(parseDate(note.endsOn));
  }

  /*
   * Our own Chart.js plugin (chartjs-plugin-annotation is not vendored): a shaded band over the
   * periods each annotation covers, a dashed line where it starts and its number on top, the
   * number matching the list under the chart. After drawing, the canvas carries
   * data-annotation-markers (how many were drawn) and data-annotation-ids for the browser tests.
   */
  function annotationPlugin(canvas, notes) {
    return {
      id: "pulseAnnotations",
      afterDatasetsDraw: function (chart) {
        var x = chart.scales.x;
        var area = chart.chartArea;
        if (!x || !area || chart.options.indexAxis === "y") return;
        var step = chart.data.labels.length > 1
          ? Math.abs(x.getPixelForValue(1) - x.getPixelForValue(0))
          : area.right - area.left;
        var ctx = chart.ctx;
        var drawn = [];
        ctx.save();
        notes.forEach(function (note, position) {
          var style = kindStyle(note.kind);
          var left = Math.max(area.left, x.getPixelForValue(note.from) - step / 2);
          var right = Math.min(area.right, x.getPixelForValue(note.to) + step / 2);
          if (!(right > left)) return;
          ctx.fillStyle = "rgba(" + style.color + ", 0.12)";
          ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
          ctx.strokeStyle = "rgba(" + style.color + ", 0.9)";
          ctx.lineWidth = 1.5;
          ctx.setLineDash([4, 3]);
          ctx.beginPath();
          ctx.moveTo(left, area.top);
          ctx.lineTo(left, area.bottom);
          ctx.stroke();
          ctx.setLineDash([]);
          // Staggered so that notes on neighbouring periods keep readable numbers.
          var label = String(position + 1);
          var top = area.top + 2 + (position % 3) * 16;
          ctx.font = "bold 11px system-ui, sans-serif";
          var width = ctx.measureText(label).width + 8;
          ctx.fillStyle = "rgba(" + style.color + ", 1)";
          ctx.fillRect(left + 2, top, width, 14);
          ctx.fillStyle = note.kind === "price_change" ? "#212529" : "#ffffff";
          ctx.textBaseline = "middle";
          ctx.fillText(label, left + 6, top + 7);
          drawn.push(note.id);
        });
        ctx.restore();
        canvas.dataset.annotationMarkers = String(drawn.length);
        canvas.dataset.annotationIds = drawn.join(",");
      }
    };
  }

  function fillAnnotationList(canvas, notes) {
    var list = canvas.dataset.annotationsList && document.getElementById(canvas.dataset.annotationsList);
    if (!list) return;
    list.textContent = "";
    notes.forEach(function (note, position) {
      var item = document.createElement("li");
      item.dataset.annotationId = String(note.id);
      item.className = "mb-1";
      var badge = document.createElement("span");
      badge.className = "badge me-1 " + kindStyle(note.kind).badge;
      badge.textContent = String(position + 1);
      var kind = document.createElement("strong");
      kind.textContent = note.kindLabel;
      var when = document.createElement("span");
      when.className = "text-body-secondary";
      when.textContent = " · " + dayRange(note) + " · ";
      var text = document.createElement("span");
      text.className = "kpi-annotation-text";
      text.textContent = note.text;
      item.append(badge, kind, when, text);
      list.appendChild(item);
    });
    list.hidden = notes.length === 0;
    list.style.listStyle = "none";
  }

  function setStatus(canvas, state, textKey) {
    canvas.dataset.chartState = state;
    var status = canvas.parentElement.querySelector(".kpi-chart-status");
    if (status) status.textContent = textKey ? status.dataset[textKey] || "" : "";
  }

  function draw(canvas, payload) {
    // Marked only where the page lists them (the KPI page's trend), not on small sparklines.
    var notes = canvas.dataset.annotationsList ? payload.annotations || [] : [];
    fillAnnotationList(canvas, notes);
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
      plugins: notes.length ? [annotationPlugin(canvas, notes)] : [],
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
              },
              // The notes on the hovered period, numbered as on the chart and in the list.
              footer: function (items) {
                if (!notes.length || !items.length) return "";
                return notesAt(notes, items[0].dataIndex).map(function (note) {
                  var text = note.text.length > 80 ? note.text.slice(0, 79) + "…" : note.text;
                  return (notes.indexOf(note) + 1) + ". " + note.kindLabel + ": " + text;
                });
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

  // Draws every chart under `root` (the document by default); kpi-live.js calls it again for the
  // regions it swaps in when a newer KPI run lands.
  function init(root) {
    if (typeof Chart === "undefined") return;
    (root && root.querySelectorAll ? root : document)
      .querySelectorAll("canvas.kpi-chart[data-chart-url]").forEach(load);
  }
  window.PulseCharts = { draw: init };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(); });
  else init();
})();
