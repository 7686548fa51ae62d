// Buttons marked data-action="print" open the browser's print dialog. A file, not an onclick
// attribute: the Content-Security-Policy allows scripts from our own static files only.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action='print']");
    if (button) {
      window.print();
    }
  });
})();
