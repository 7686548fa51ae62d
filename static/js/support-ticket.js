// Ticket page: choosing a canned response puts its rendered text into the reply box.
// Delegated from document, so it keeps working after htmx swaps the ticket workspace.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.dataset.cannedTarget) {
      return;
    }
    var option = select.options[select.selectedIndex];
    var target = document.getElementById(select.dataset.cannedTarget);
    if (!option || !option.dataset.body || !target) {
      return;
    }
    target.value = target.value.trim() ? target.value.trimEnd() + "\n\n" + option.dataset.body : option.dataset.body;
    target.focus();
    select.selectedIndex = 0;
  });
})();
