// Charts of the programme progress dashboard. Each <canvas data-chart="ID"> draws the JSON of
// <script type="application/json" id="ID"> (the Content-Security-Policy forbids inline
// scripts). The table beside every chart holds the same numbers; the chart only repeats them.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  // Counted: solid line with round points; the target line: dashed, no points. They differ in
  // shape as well as colour (WCAG 1.4.1).
  var styles = {
    counted: { borderColor: "#01689b", backgroundColor: "#01689b", borderWidth: 3, pointRadius: 3,
               pointStyle: "circle", spanGaps: false },
    target: { borderColor: "#a85200", backgroundColor: "#a85200", borderWidth: 2, borderDash: [8, 5],
              pointRadius: 0, pointStyle: "line" }
  };
  var barStyle = { backgroundColor: "#01689b", borderColor: "#083b51", borderWidth: 1 };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    spec.datasets.forEach(function (set) {
      Object.assign(set, spec.kind === "line" ? (styles[set.role] || styles.counted) : barStyle);
    });
    var valueAxis = { beginAtZero: true, ticks: { precision: 0 } };
    new Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        maintainAspectRatio: false,
        animation: reduceMotion ? false : undefined,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: spec.horizontal ? { x: valueAxis } : { y: valueAxis },
        plugins: { legend: { display: spec.datasets.length > 1, position: "bottom",
                             labels: { usePointStyle: true } } }
      }
    });
  });
})();
