/* Target and alert-rule forms (kpis.views.config): the live target sentence, the one-click
   periods, the threshold's unit hint, and a confirmation before deleting a rule.
   The sentence is rendered by the server (the same function as the saved list uses), so the
   page and the list never disagree; this file only asks for it as the form changes. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function targetForm(form) {
    const box = form.querySelector("[data-testid=target-sentence]");
    const url = form.dataset.sentenceUrl;
    let asked = 0;
    const refresh = debounce(function () {
      const params = new URLSearchParams(new FormData(form));
      params.delete("csrfmiddlewaretoken");
      const ticket = ++asked;
      form.dataset.sentenceState = "loading";
      fetch(url + "?" + params.toString(), { headers: { Accept: "application/json" } })
        .then((response) => response.json())
        .then((data) => {
          if (ticket !== asked) return; // a newer change is on its way
          box.textContent = data.sentence || "";
          box.hidden = !data.sentence;
          form.dataset.sentenceState = "ready";
        })
        .catch(() => {
          form.dataset.sentenceState = "error";
        });
    }, 200);
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    form.querySelectorAll("[data-period-shortcut]").forEach((button) => {
      button.addEventListener("click", () => {
        form.querySelector("[name=granularity]").value = button.dataset.granularity;
        form.querySelector("[name=period_start]").value = button.dataset.periodStart;
        refresh();
      });
    });
    if (box.hidden) refresh();
  }

  function ruleForm(form) {
    const unitsNode = document.getElementById("kpi-units");
    const units = unitsNode ? JSON.parse(unitsNode.textContent) : {};
    const hintsNode = document.getElementById("unit-hints");
    const hints = hintsNode ? JSON.parse(hintsNode.textContent) : { level: {}, change: {} };
    const kpi = form.querySelector("[name=kpi]");
    const condition = form.querySelector("[name=condition]");
    const row = form.querySelector("[data-threshold-row]");
    const hint = form.querySelector("[data-unit-hint]");
    function update() {
      const needsNumber = ["above", "below", "change_pct", "change_abs"].includes(condition.value);
      row.hidden = !needsNumber;
      const unit = (units[kpi.value] || {}).unit || "number";
      if (condition.value === "change_pct") {
        hint.textContent = hints.change_pct || "";
      } else if (condition.value === "change_abs") {
        hint.textContent = hints.change[unit] || "";
      } else {
        hint.textContent = hints.level[unit] || "";
      }
      hint.dataset.unit = unit;
    }
    kpi.addEventListener("change", update);
    condition.addEventListener("change", update);
    update();
  }

  document.querySelectorAll("form[data-kpi-config=target]").forEach(targetForm);
  document.querySelectorAll("form[data-kpi-config=rule]").forEach(ruleForm);
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
