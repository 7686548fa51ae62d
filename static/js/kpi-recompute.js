/* "Recompute now": polls the recompute's status JSON and moves the progress bar until the KPI
   runs have finished or failed. */
(function () {
  "use strict";
  var box = document.querySelector(".kpi-recompute[data-status-url]");
  if (!box) return;
  var bar = box.querySelector(".progress-bar");
  var meter = box.querySelector(".progress");
  var text = box.querySelector("[data-testid=recompute-text]");
  var reload = box.querySelector("[data-testid=recompute-reload]");

  function show(status) {
    var percent = status.percent || 0;
    bar.style.width = percent + "%";
    bar.textContent = percent + " %";
    meter.setAttribute("aria-valuenow", String(percent));
    box.dataset.state = status.state;
    var template = box.dataset["text" + status.state.charAt(0).toUpperCase() + status.state.slice(1)] || "";
    text.textContent = template.replace("{done}", status.done).replace("{total}", status.total);
    if (status.state === "finished" || status.state === "failed") {
      bar.classList.remove("progress-bar-animated", "progress-bar-striped");
      bar.classList.add(status.state === "finished" ? "bg-success" : "bg-danger");
      if (status.state === "finished") reload.hidden = false;
      return true;
    }
    return false;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404) return { state: "missing", percent: 0 };
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) {
        if (status.state === "missing") {
          box.dataset.state = "missing";
          text.textContent = box.dataset.textMissing;
          return;
        }
        if (!show(status)) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
