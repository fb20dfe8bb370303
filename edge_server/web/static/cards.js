// Login cards: the Print button (no inline script: the pages' CSP allows only scripts from the box).
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
