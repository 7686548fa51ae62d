// Record lists: tick rows (or every row matching the filter) for a bulk action, show only the
// chosen action's fields, and hide or show columns (kept in a saved view).
(function () {
  "use strict";

  function columnKey(th, index) {
    return th.dataset.column || "col" + index;
  }

  function setupColumns(tools) {
    const table = document.querySelector("table");
    const chooser = tools.querySelector("[data-column-chooser]");
    const input = tools.querySelector("[data-columns-input]");
    if (!table || !chooser || tools.dataset.bound) {
      return;
    }
    tools.dataset.bound = "1";
    const headers = Array.from(table.querySelectorAll("thead th"));
    const wanted = (tools.dataset.columns || "").split(",").filter(Boolean);

    function apply() {
      const hidden = new Set();
      const visible = [];
      chooser.querySelectorAll("input[type=checkbox]").forEach((box) => {
        if (box.checked) {
          visible.push(box.value);
        } else {
          hidden.add(Number(box.dataset.index));
        }
      });
      table.querySelectorAll("tr").forEach((row) => {
        Array.from(row.children).forEach((cell, index) => {
          cell.classList.toggle("d-none", hidden.has(index));
        });
      });
      if (input) {
        input.value = hidden.size ? visible.join(",") : "";
      }
    }

    headers.forEach((th, index) => {
      if (th.hasAttribute("data-bulk-header")) {
        return;
      }
      const key = columnKey(th, index);
      const label = th.textContent.replace(/[▲▼]/g, "").trim() || key;
      const id = "column-" + key;
      const item = document.createElement("div");
      item.className = "form-check small text-nowrap";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "form-check-input";
      box.id = id;
      box.value = key;
      box.dataset.index = String(index);
      box.checked = wanted.length === 0 || wanted.includes(key);
      const text = document.createElement("label");
      text.className = "form-check-label";
      text.htmlFor = id;
      text.textContent = label;
      item.append(box, text);
      chooser.append(item);
      box.addEventListener("change", apply);
    });
    apply();
  }

  function setupBulk(form) {
    if (form.dataset.bound) {
      return;
    }
    form.dataset.bound = "1";
    const rows = () => Array.from(document.querySelectorAll("input[data-bulk-row]"));
    const pageBox = document.querySelector("input[data-bulk-page]");
    const scope = form.querySelector("[data-bulk-scope]");
    const summary = form.querySelector("[data-bulk-summary]");
    const allButton = form.querySelector("[data-bulk-all]");
    const action = form.querySelector("[data-bulk-action]");
    const submit = form.querySelector("[data-bulk-submit]");

    function refresh() {
      const ticked = rows().filter((box) => box.checked).length;
      const every = scope.value === "filter";
      if (every) {
        summary.textContent = summary.dataset.all;
      } else if (ticked) {
        summary.textContent = summary.dataset.some.replace("{count}", ticked.toLocaleString());
      } else {
        summary.textContent = summary.dataset.none;
      }
      const any = every || ticked > 0;
      action.disabled = !any;
      submit.disabled = !any || !action.value;
    }

    rows().forEach((box) =>
      box.addEventListener("change", () => {
        scope.value = "ids";
        refresh();
      })
    );
    if (pageBox) {
      pageBox.addEventListener("change", () => {
        rows().forEach((box) => {
          box.checked = pageBox.checked;
        });
        scope.value = "ids";
        refresh();
      });
    }
    if (allButton) {
      allButton.addEventListener("click", () => {
        rows().forEach((box) => {
          box.checked = true;
        });
        if (pageBox) {
          pageBox.checked = true;
        }
        scope.value = "filter";
        refresh();
      });
    }
    action.addEventListener("change", refresh);
    refresh();
  }

  function start() {
    document.querySelectorAll("[data-list-tools]").forEach(setupColumns);
    document.querySelectorAll("form[data-bulk-form]").forEach(setupBulk);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  // The customer list swaps its results (with this bar) in place while searching.
  document.addEventListener("htmx:afterSettle", start);
})();
