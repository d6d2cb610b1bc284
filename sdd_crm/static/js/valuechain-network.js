// Value-chain picture: a click on an organisation opens its page. The table under the picture
// holds the same links for keyboard and screen-reader users, so the picture needs no focus stops.
(function () {
  "use strict";
  document.querySelectorAll(".vc-network .vc-node[data-href]").forEach(function (node) {
    node.addEventListener("click", function () {
      window.location.assign(node.getAttribute("data-href"));
    });
  });
})();
