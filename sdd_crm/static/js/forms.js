// Forms, progressively enhanced (templates/_macros/forms.html). Without this script every form
// still works: the error summary is at the top of the page (role="alert") and every conditional
// field stays visible with its hint; the server's validation decides either way.
//
// 1. After a failed save the focus moves to the error summary; following one of its links
//    focuses that field (and scrolls its label into view, so the question is seen too).
// 2. A conditional field ([data-show-when="trigger name"][data-show-values="a b"]) is shown only
//    while its trigger holds one of the values (a ticked checkbox counts as its value, "y"; "*"
//    is any value, e.g. a follow-up's date once its title is typed), and
//    with [data-required-when-shown] it is then marked required (required, aria-required) and
//    loses its "(optioneel)" marker.
(function () {
  "use strict";

  function focusField(id) {
    var field = document.getElementById(id);
    if (!field) {
      return false;
    }
    var wrap = field.closest("[data-show-when]");
    if (wrap && wrap.hidden) {
      wrap.hidden = false;
    }
    var label = document.querySelector('label[for="' + id + '"]');
    (label || field).scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
    return document.activeElement === field;
  }

  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (link && focusField(decodeURIComponent(link.getAttribute("href").slice(1)))) {
        event.preventDefault();
      }
    });
  }

  function triggerValue(form, name) {
    var control = form.elements.namedItem(name);
    if (!control) {
      return null;
    }
    if (control.type === "checkbox") {
      return control.checked ? (control.value || "y") : "";
    }
    return control.value || "";  // a select, a text box, or a group of radio buttons
  }

  function update(wrap) {
    var form = wrap.closest("form");
    var value = form ? triggerValue(form, wrap.getAttribute("data-show-when")) : null;
    if (value === null) {
      return;  // no trigger on this page: leave the field as the server drew it
    }
    var values = (wrap.getAttribute("data-show-values") || "").split(" ");
    var shown = values.indexOf(value) !== -1 || (values.indexOf("*") !== -1 && value.trim() !== "");
    wrap.hidden = !shown;
    if (!wrap.hasAttribute("data-required-when-shown")) {
      return;
    }
    wrap.querySelectorAll("input, select, textarea").forEach(function (control) {
      control.required = shown;
      if (shown) {
        control.setAttribute("aria-required", "true");
      } else {
        control.removeAttribute("aria-required");
      }
    });
    var marker = wrap.querySelector("[data-optional-marker]");
    if (marker) {
      marker.hidden = shown;
    }
  }

  var conditional = document.querySelectorAll("[data-show-when]");
  if (!conditional.length) {
    return;
  }
  conditional.forEach(update);
  function changed(event) {
    var name = event.target && event.target.name;
    if (!name) {
      return;
    }
    conditional.forEach(function (wrap) {
      if (wrap.getAttribute("data-show-when") === name) {
        update(wrap);
      }
    });
  }
  document.addEventListener("change", changed);
  document.addEventListener("input", changed);
})();
