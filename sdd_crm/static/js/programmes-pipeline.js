/* The pipeline's "select all on this page" box. Progressive: without this script every row
   still has its own checkbox, and the box stays hidden. */
(function () {
  "use strict";
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var name = all.getAttribute("data-select-all");
    var boxes = Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][name="' + name + '"]'));
    if (!boxes.length) { return; }
    function sync() {
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      all.checked = ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });
})();
