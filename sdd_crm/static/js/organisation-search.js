/* Suggestions for the organisation search box of the contact-moment and task forms.
   Progressive: without this script the server still resolves a typed name or KvK number. */
(function () {
  "use strict";
  document.querySelectorAll("input[data-organisation-search]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = list && list.getAttribute("data-url");
    if (!list || !url || !window.fetch) { return; }
    var timer = null, last = "";
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (q.length < 2 || q === last) { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        last = q;
        fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            while (list.firstChild) { list.removeChild(list.firstChild); }
            items.forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.value;
              option.textContent = item.label;
              list.appendChild(option);
            });
          })
          .catch(function () { /* offline: the server resolves the name on save */ });
      }, 200);
    });
  });
})();
