// The prediction model page's tracking chart: actual vs expected repeat purchases per week,
// from the django-chartjs view named in the canvas's data-chart-url. The canvas gets
// data-chart-state = ready | error, as the KPI charts do (the browser tests read it).
(function () {
  "use strict";
  document.querySelectorAll("canvas[data-chart-url]").forEach(function (canvas) {
    fetch(canvas.dataset.chartUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("chart data: HTTP " + response.status); }
        return response.json();
      })
      .then(function (payload) {
        // eslint-disable-next-line no-undef
        new Chart(canvas, {
          type: "line",
          data: { labels: payload.labels, datasets: payload.datasets },
          options: {
            animation: false,
            interaction: { mode: "index", intersect: false },
            scales: { x: { ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true } },
          },
        });
        canvas.dataset.chartState = "ready";
      })
      .catch(function () {
        canvas.dataset.chartState = "error";
      });
  });
})();
