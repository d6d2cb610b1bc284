/* The main menu on narrow screens (issue 14, WCAG 1.4.10): a disclosure. The "Menu" button in
   the header shows or hides the menu (#app-menu) and the header tools marked .app-menu-part;
   Escape closes it and returns focus to the button. Without JavaScript the button stays hidden
   and everything is shown (progressive enhancement). On wide screens CSS hides the button and
   always shows the menu, whatever its state. */
(function () {
  "use strict";
  var button = document.querySelector(".app-menu-button");
  var header = button && button.closest(".app-header");
  if (!header) return;
  var narrow = window.matchMedia("(max-width: 47.99rem)");

  function parts() {
    return header.querySelectorAll(".app-menu-part");
  }

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("app-header--collapsed", !open);
  }

  function inMenu(el) {
    return Array.prototype.some.call(parts(), function (part) { return part.contains(el); });
  }

  button.hidden = false;
  setOpen(false);

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });

  header.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !narrow.matches) return;
    if (button.getAttribute("aria-expanded") !== "true") return;
    if (event.target !== button && !inMenu(event.target)) return;
    setOpen(false);
    button.focus();
    event.preventDefault();
  });

  // Leaving the open menu with the pointer or the keyboard leaves it open: the user closes it.
  // Crossing to a wide screen needs nothing: CSS shows everything there.
})();
