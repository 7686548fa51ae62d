// Searchable pickers of the customer forms: typing asks the picker endpoint (only what the user
// may choose), a click on a result fills the hidden id. No inline handlers (the CSP forbids them).
(function () {
  "use strict";
  function setup(picker) {
    var url = picker.dataset.pickerUrl;
    var hidden = picker.querySelector(".picker-value");
    var search = picker.querySelector(".picker-search");
    var list = picker.querySelector(".picker-results");
    var clear = picker.querySelector(".picker-clear");
    var timer = null;
    var asked = 0;
    function close() {
      list.hidden = true;
    }
    function show(results) {
      list.innerHTML = "";
      results.forEach(function (result) {
        var item = document.createElement("li");
        item.className = "list-group-item list-group-item-action small picker-option";
        item.setAttribute("role", "option");
        item.dataset.id = String(result.id);
        item.textContent = result.label;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          hidden.value = item.dataset.id;
          search.value = result.label;
          close();
        });
        list.appendChild(item);
      });
      list.hidden = results.length === 0;
    }
    function ask() {
      var mine = ++asked;
      fetch(url + "?q=" + encodeURIComponent(search.value), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (mine === asked) {
            show(body.results || []);
          }
        })
        .catch(close);
    }
    search.addEventListener("input", function () {
      // A changed text no longer names the picked record until a result is chosen.
      hidden.value = "";
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 200);
    });
    search.addEventListener("focus", ask);
    search.addEventListener("blur", function () { window.setTimeout(close, 150); });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        close();
      }
    });
    if (clear) {
      clear.addEventListener("click", function () {
        hidden.value = "";
        search.value = "";
        close();
      });
    }
  }
  document.querySelectorAll(".customer-picker").forEach(setup);
})();
