/* Grids of table fields (order lines...): add, remove and move rows, then renumber.
   Inputs are named <field>-<n>-<cell>; the server reads rows in order of n, so after each
   change the rows are renumbered in screen order. Without this file the grid still works:
   it posts its rows plus one spare blank row, and a cleared row is dropped. */
(function () {
  "use strict";

  function rows(grid) { return Array.prototype.slice.call(grid.querySelectorAll("tbody tr[data-row]")); }

  function renumber(grid) {
    var key = grid.getAttribute("data-rows");
    rows(grid).forEach(function (tr, n) {
      tr.querySelector(".row-no").textContent = String(n + 1);
      tr.querySelectorAll("[name]").forEach(function (input) {
        var cell = input.getAttribute("data-cell");
        input.name = key + "-" + n + "-" + cell;
        var label = input.getAttribute("aria-label");
        if (label) input.setAttribute("aria-label", label.replace(/\d+(\D*)$/, String(n + 1) + "$1"));
      });
    });
  }

  function blank(tr) {
    var copy = tr.cloneNode(true);
    copy.removeAttribute("data-spare");
    copy.classList.remove("has-error");
    copy.querySelectorAll(".has-error").forEach(function (td) { td.classList.remove("has-error"); });
    copy.querySelectorAll(".field-errors").forEach(function (ul) { ul.remove(); });
    copy.querySelectorAll("input, select, textarea").forEach(function (input) {
      input.removeAttribute("aria-invalid");
      if (input.type === "checkbox") input.checked = false;
      else if (input.tagName === "SELECT") input.selectedIndex = 0;
      else input.value = "";
    });
    copy.querySelectorAll("output").forEach(function (out) { out.textContent = ""; });
    return copy;
  }

  function setUp(grid) {
    var body = grid.querySelector("tbody");
    var spare = body.querySelector("tr[data-spare]");
    var template = blank(spare);
    // with the script, the spare row is only kept while there is no row at all
    if (rows(grid).length > 1) spare.remove(); else spare.removeAttribute("data-spare");
    var add = grid.querySelector("[data-row-add]");
    add.hidden = false;
    add.addEventListener("click", function () {
      var tr = template.cloneNode(true);
      body.appendChild(tr);
      renumber(grid);
      var first = tr.querySelector("input, select");
      if (first) first.focus();
    });
    body.addEventListener("click", function (e) {
      var button = e.target.closest("button");
      var tr = button && button.closest("tr[data-row]");
      if (!tr) return;
      if (button.hasAttribute("data-row-remove")) {
        tr.remove();
      } else if (button.hasAttribute("data-row-up") && tr.previousElementSibling) {
        body.insertBefore(tr, tr.previousElementSibling);
      } else if (button.hasAttribute("data-row-down") && tr.nextElementSibling) {
        body.insertBefore(tr.nextElementSibling, tr);
      } else {
        return;
      }
      renumber(grid);
      button.focus();
    });
    renumber(grid);
  }

  document.querySelectorAll("fieldset[data-rows]").forEach(setUp);
})();
