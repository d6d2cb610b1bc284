/* Suggestions for the organisation search box of the contact-moment, task, programme and
   value-chain forms: a listbox under the box (the WAI-ARIA combobox pattern), chosen with the
   mouse or with the arrow keys and Enter; Escape closes it. Progressive: without this script
   the server still resolves a typed name or KvK number, and lists the candidates. */
(function () {
  "use strict";
  var counter = 0;

  function setup(input) {
    var datalist = document.getElementById(input.getAttribute("list"));
    var url = datalist && datalist.getAttribute("data-url");
    if (!datalist || !url || !window.fetch) { return; }
    counter += 1;
    var listId = "organisation-suggestions-" + counter;
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "app-suggest__list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", datalist.getAttribute("data-label") || "Suggesties");
    list.hidden = true;
    input.removeAttribute("list");  // our listbox replaces the browser's own suggestions
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.parentNode.classList.add("app-suggest");  // positions the list under the box
    input.parentNode.insertBefore(list, input.nextSibling);

    var timer = null, last = "", active = -1, seq = 0;

    function options() { return list.querySelectorAll("[role=option]"); }

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var items = options();
      if (!items.length) { return; }
      active = (index + items.length) % items.length;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function choose(option) {
      input.value = option.getAttribute("data-value");
      last = input.value.trim();
      close();
      input.focus();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(items) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      items.forEach(function (item, i) {
        var option = document.createElement("li");
        option.id = listId + "-" + i;
        option.className = "app-suggest__option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-value", item.value);
        option.textContent = item.value;
        if (item.label) {
          var hint = document.createElement("span");
          hint.className = "app-suggest__hint";
          hint.textContent = ", " + item.label;
          option.appendChild(hint);
        }
        list.appendChild(option);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      list.hidden = !items.length;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
    }

    // mousedown would move the focus off the box before the click lands: keep it there.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) { choose(option); }
    });

    input.addEventListener("input", function () {
      var q = input.value.trim();
      window.clearTimeout(timer);
      if (q.length < 2) { close(); return; }
      if (q === last) { return; }
      timer = window.setTimeout(function () {
        last = q;
        var mine = ++seq;
        fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) { if (mine === seq && document.activeElement === input) { show(items); } })
          .catch(function () { /* offline: the server resolves the name on save */ });
      }, 200);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!open) { return; }
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();  // choose, do not submit the form
        choose(options()[active]);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });

    input.addEventListener("blur", function () { window.setTimeout(close, 150); });
  }

  document.querySelectorAll("input[data-organisation-search]").forEach(setup);
})();
