/*
 * The index weights editor (kpis/weights): each weight's share of 100 % as you type, and the
 * progress bar of a background job (computing snapshots, restating history).
 *
 * Shares follow kpis/index.py: an indicator's share in its group is its weight over the group's
 * weights of the indicators that have a value (one marked missing gets none: its weight is spread
 * over the others), and its share of the index is that times its group's share among the groups
 * with a weighted, present indicator.
 */
(function () {
  "use strict";

  var percent = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1
  });

  function number(input) {
    var value = parseFloat(input && input.value);
    return isFinite(value) && value > 0 ? value : 0;
  }

  function shareText(part, total) {
    return total > 0 ? percent.format((part / total) * 100) + " %" : "—";
  }

  function indicatorRows(form) {
    return Array.prototype.map.call(form.querySelectorAll("tr[data-testid^='indicator-']"), function (row) {
      var weight = row.querySelector("input[data-weight='indicator']");
      var group = row.querySelector("select[name$='_group']");
      var remove = row.querySelector("input[type=checkbox][name$='_remove']");
      return {
        row: row,
        kpi: row.dataset.testid.replace("indicator-", ""),
        group: group ? group.value : weight.dataset.group,
        weight: remove && remove.checked ? 0 : number(weight),
        missing: weight.dataset.missing === "1"
      };
    });
  }

  function updateShares(form) {
    var rows = indicatorRows(form);
    var present = {};
    var configured = {};
    rows.forEach(function (r) {
      configured[r.group] = (configured[r.group] || 0) + r.weight;
      if (!r.missing) present[r.group] = (present[r.group] || 0) + r.weight;
    });
    var groupWeights = {};
    form.querySelectorAll("input[data-weight='group']").forEach(function (input) {
      groupWeights[input.dataset.group] = number(input);
    });
    // Groups carry a share only with a weighted indicator; renormalised over those with a value.
    var groupTotal = 0;
    var presentTotal = 0;
    Object.keys(groupWeights).forEach(function (g) {
      if (configured[g] > 0) groupTotal += groupWeights[g];
      if (present[g] > 0) presentTotal += groupWeights[g];
    });
    form.querySelectorAll("[data-share='group']").forEach(function (badge) {
      var g = badge.dataset.group;
      badge.textContent = configured[g] > 0 ? shareText(groupWeights[g], groupTotal) : "—";
    });
    rows.forEach(function (r) {
      var inGroup = r.row.querySelector("[data-share='indicator']");
      var ofIndex = r.row.querySelector("[data-share='index']");
      if (r.missing) {
        inGroup.textContent = "—";
        ofIndex.textContent = "—";
        return;
      }
      inGroup.textContent = shareText(r.weight, present[r.group] || 0);
      var groupShare = present[r.group] > 0 && presentTotal > 0 ? groupWeights[r.group] / presentTotal : 0;
      ofIndex.textContent = present[r.group] > 0 ? shareText(groupShare * r.weight, present[r.group]) : "—";
    });
    var healthTotal = 0;
    var healthRows = Array.prototype.map.call(form.querySelectorAll("tr[data-testid^='health-']"), function (row) {
      var on = row.querySelector("input[type=checkbox]");
      var weight = on && on.checked ? number(row.querySelector("input[data-weight='health']")) : 0;
      healthTotal += weight;
      return { row: row, weight: weight, on: on && on.checked };
    });
    healthRows.forEach(function (h) {
      var badge = h.row.querySelector("[data-share='health']");
      if (badge) badge.textContent = h.on ? shareText(h.weight, healthTotal) : "—";
    });
  }

  function initForm(form) {
    updateShares(form);
    form.addEventListener("input", function () { updateShares(form); });
    form.addEventListener("change", function () { updateShares(form); });
    form.querySelectorAll("input[name$='_name']").forEach(function (input) {
      input.addEventListener("input", function () {
        var swatch = input.closest("tr").querySelector("[data-band-swatch]");
        if (swatch) swatch.className = "badge band-swatch band-" + (input.value.trim() || "none");
      });
    });
  }

  function format(template, state) {
    return template.replace("%(done)s", state.done).replace("%(total)s", state.total);
  }

  function pollJob(card) {
    var text = card.querySelector("[data-testid='weights-job-text']");
    var bar = card.querySelector("[data-testid='weights-job-bar']");
    var reload = card.querySelector("[data-testid='weights-job-reload']");
    function show(state) {
      var share = state.total > 0 ? Math.round((state.done / state.total) * 100) : 100;
      if (state.state === "done") share = 100;
      // No animation: the bar shows the figure it states (and screenshots catch it).
      bar.style.transition = "none";
      bar.style.width = share + "%";
      bar.textContent = share + " %";
      bar.parentElement.setAttribute("aria-valuenow", String(share));
      card.dataset.jobState = state.state;
      if (state.state === "failed") {
        bar.classList.add("bg-danger");
        text.textContent = card.dataset.textFailed + " " + state.error;
      } else {
        text.textContent = format(card.dataset["text" + state.state.charAt(0).toUpperCase() + state.state.slice(1)] || "", state);
      }
      if (state.state === "done") reload.hidden = false;
      return state.state === "done" || state.state === "failed";
    }
    function tick() {
      fetch(card.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (state) { if (!show(state)) window.setTimeout(tick, 1000); })
        .catch(function () { card.dataset.jobState = "error"; });
    }
    tick();
  }

  function init() {
    var form = document.getElementById("weights-form");
    if (form) initForm(form);
    document.querySelectorAll("[data-job-url]").forEach(pollJob);
    document.querySelectorAll("button[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.dataset.confirm)) event.preventDefault();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
