// Navbar search: the htmx results panel is sized here (no inline style in the markup) and
// closes on Escape or a click elsewhere; it comes back when the field gets focus again.
(function () {
  "use strict";
  function panel() {
    return document.getElementById("global-search-results");
  }
  function hide() {
    var results = panel();
    if (results) {
      results.hidden = true;
    }
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var results = panel();
    if (results && event.target === results) {
      results.style.width = "min(30rem, 92vw)";
      results.hidden = results.innerHTML.trim() === "";
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      hide();
    }
  });
  document.addEventListener("click", function (event) {
    var form = document.querySelector("[data-testid=global-search]");
    if (form && !form.contains(event.target)) {
      hide();
    }
  });
  document.addEventListener("focusin", function (event) {
    var results = panel();
    if (results && event.target.id === "global-search-input" && results.innerHTML.trim() !== "") {
      results.hidden = false;
    }
  });
})();
