// Draw each report chart from the JSON block its table section carries (no inline scripts: CSP-ready).
(function () {
  "use strict";
  var palette = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#0a7b83", "#6e7781"];

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") {
      return;
    }
    var spec = JSON.parse(source.textContent);
    var doughnut = spec.type === "doughnut";
    var datasets = spec.datasets.map(function (set, i) {
      return {
        label: set.label,
        data: set.data,
        backgroundColor: doughnut ? palette : palette[i % palette.length],
        borderColor: palette[i % palette.length],
        fill: false,
        tension: 0.2
      };
    });
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: doughnut || datasets.length > 1 } }
      }
    });
    canvas.dataset.drawn = "true";
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
