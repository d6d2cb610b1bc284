// Bar chart of the lead response times. The data comes from the page's
// <script type="application/json" id="response-times-data"> block: the
// Content-Security-Policy forbids inline scripts. The table holds the same figures.
(function () {
  "use strict";
  var source = document.getElementById("response-times-data");
  var canvas = document.getElementById("response-times-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colours = ["#01689b", "#ffbf47"];
  data.datasets.forEach(function (set, i) {
    set.backgroundColor = colours[i % colours.length];
    set.borderColor = "#083b51";
    set.borderWidth = 1;
  });
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  new Chart(canvas, {
    type: "bar",
    data: data,
    options: {
      indexAxis: "y",
      animation: reduceMotion ? false : undefined,
      scales: { x: { beginAtZero: true } },
      plugins: { legend: { position: "bottom" } }
    }
  });
})();
