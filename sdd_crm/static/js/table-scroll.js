/* Tables that are wider than the screen scroll inside their wrapper (.app-table-wrap, see
   app.css; WCAG 1.4.10). Such a wrapper must be reachable with the keyboard and named: this
   makes every overflowing wrapper a focusable region labelled by its table's caption or name
   (or the heading before it), and takes that away again when it fits. Wrappers that carry their
   own role="region" in the template are left alone. */
(function () {
  "use strict";
  var fallback = document.documentElement.lang === "en" ? "Table" : "Tabel";

  function label(wrap) {
    var table = wrap.querySelector("table");
    if (!table) return fallback;
    var caption = table.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    if (table.getAttribute("aria-label")) return table.getAttribute("aria-label");
    var ids = table.getAttribute("aria-labelledby");
    if (ids) {
      var text = ids.split(/\s+/).map(function (id) {
        var el = document.getElementById(id);
        return el ? el.textContent.trim() : "";
      }).join(" ").trim();
      if (text) return text;
    }
    for (var el = wrap.previousElementSibling; el; el = el.previousElementSibling) {
      if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
    }
    var section = wrap.closest("section, article");
    var heading = section && section.querySelector("h1, h2, h3, h4");
    return heading ? heading.textContent.trim() : fallback;
  }

  function update() {
    var wraps = document.querySelectorAll(".app-table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      if (wrap.hasAttribute("role") && !wrap.hasAttribute("data-scroll-enhanced")) continue;
      var overflows = wrap.scrollWidth > wrap.clientWidth + 1;
      if (overflows && !wrap.hasAttribute("data-scroll-enhanced")) {
        wrap.setAttribute("data-scroll-enhanced", "");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("aria-label", label(wrap));
      } else if (!overflows && wrap.hasAttribute("data-scroll-enhanced") && wrap !== document.activeElement) {
        wrap.removeAttribute("data-scroll-enhanced");
        wrap.removeAttribute("role");
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("aria-label");
      }
    }
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; update(); });
  }

  update();
  window.addEventListener("resize", schedule);
  window.addEventListener("load", schedule);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(schedule);
})();
