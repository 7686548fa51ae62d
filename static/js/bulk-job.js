// The bulk job page: poll the job's status while it runs, move the progress bar, and reload
// once it is finished so the result (successes and refusals with reasons) is shown.
(function () {
  "use strict";
  const root = document.getElementById("bulk-job");
  if (!root || root.dataset.finished === "1") {
    return;
  }
  const bar = root.querySelector("[data-bulk-bar]");
  const progress = root.querySelector("[data-testid=bulk-progress]");
  const counts = root.querySelector("[data-bulk-counts]");

  function show(state) {
    bar.style.width = state.percent + "%";
    bar.textContent = state.percent + " %";
    progress.setAttribute("aria-valuenow", String(state.percent));
    counts.textContent = counts.dataset.template
      .replace("{done}", state.done.toLocaleString())
      .replace("{total}", state.total.toLocaleString())
      .replace("{succeeded}", state.succeeded.toLocaleString())
      .replace("{refused}", state.refused.toLocaleString());
    root.dataset.status = state.status;
  }

  function poll() {
    fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => response.json())
      .then((state) => {
        show(state);
        if (state.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(() => window.setTimeout(poll, 3000));
  }
  window.setTimeout(poll, 500);
})();
