// The prediction model page's tracking chart: actual vs expected repeat purchases per week,
// from the django-chartjs view named in the canvas's data-chart-url.
(function () {
  "use strict";
  document.querySelectorAll("canvas[data-chart-url]").forEach(function (canvas) {
    fetch(canvas.dataset.chartUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
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
      });
  });
})();
