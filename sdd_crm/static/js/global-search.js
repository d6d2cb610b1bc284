/* The global search in the header (issue 14 point 2): "/" focuses its field from anywhere on
   the page, except while typing in another field. Progressive: the form works without it. */
(function () {
  "use strict";
  var input = document.getElementById("global-search-q");
  if (!input) { return; }

  function typing(target) {
    if (!target || target === document.body) { return false; }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.defaultPrevented || typing(event.target)) { return; }
    event.preventDefault();
    input.focus();
    input.select();
  });
})();
