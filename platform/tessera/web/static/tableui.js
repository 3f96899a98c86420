/* Inline edit of table view cells: click (or Enter on) a cell marked data-edit, change the
   value, Enter/blur saves through /cell with the row's version; Escape cancels. A conflict
   or a refusal is shown as the server words it. Without this file the table still works. */
(function () {
  "use strict";
  var table = document.querySelector("table.data[data-cell-url]");
  if (!table) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function message(text, kind) {
    var main = document.getElementById("main");
    var box = main.querySelector(".flashes");
    if (!box) { box = document.createElement("div"); box.className = "flashes"; box.setAttribute("role", "status"); main.prepend(box); }
    box.textContent = "";
    var item = document.createElement("div");
    item.className = "flash flash-" + kind;
    item.id = "cell-message";
    item.textContent = text;
    box.appendChild(item);
  }

  function editor(td) {
    var kind = td.getAttribute("data-input");
    var input;
    if (kind === "select") {
      input = document.createElement("select");
      var th = table.querySelector('th[data-column="' + td.getAttribute("data-edit") + '"]');
      var options = JSON.parse(th.getAttribute("data-options") || "[]");
      input.appendChild(new Option("—", ""));
      options.forEach(function (o) { input.appendChild(new Option(o[1], o[0])); });
    } else {
      input = document.createElement("input");
      input.type = kind;
      if (kind === "number") input.step = "any";
    }
    input.value = td.getAttribute("data-value") || "";
    input.className = "cell-editor";
    input.setAttribute("aria-label", td.getAttribute("data-label") || "");
    return input;
  }

  function open(td) {
    if (td.classList.contains("editing")) return;
    var before = td.innerHTML;
    var input = editor(td);
    var done = false;
    td.classList.add("editing");
    td.textContent = "";
    td.appendChild(input);
    input.focus();

    function close(html) {
      done = true;
      td.classList.remove("editing");
      td.innerHTML = html;
    }
    function save() {
      if (done) return;
      if (input.value === (td.getAttribute("data-value") || "")) { close(before); return; }
      done = true;
      var row = td.closest("tr");
      var url = table.getAttribute("data-cell-url").replace("/0/cell", "/" + row.getAttribute("data-id") + "/cell");
      td.classList.add("saving");
      fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ field: td.getAttribute("data-edit"), value: input.value, version: row.getAttribute("data-version") })
      }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (res) {
        td.classList.remove("saving");
        if (res.ok) {
          row.setAttribute("data-version", res.data.version);
          td.setAttribute("data-value", input.value);
          close(res.data.html);
          message(table.getAttribute("data-saved"), "ok");
        } else {
          close(before);
          td.classList.add("cell-error");
          message((res.data.error || {}).message || table.getAttribute("data-failed"), "error");
        }
      }).catch(function () {
        td.classList.remove("saving");
        close(before);
        message(table.getAttribute("data-failed"), "error");
      });
    }
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); save(); }
      if (e.key === "Escape") { e.preventDefault(); close(before); td.focus(); }
    });
    input.addEventListener("blur", save);
    if (input.tagName === "SELECT") input.addEventListener("change", save);
  }

  /* capture phase: a click on an editable cell edits it instead of opening the record */
  document.addEventListener("click", function (e) {
    var td = e.target.closest("td[data-edit]");
    if (!td || !table.contains(td) || e.target.closest("a, input, select, button")) return;
    e.stopPropagation();
    open(td);
  }, true);
  table.addEventListener("keydown", function (e) {
    var td = e.target.closest && e.target.closest("td[data-edit]");
    if (td && e.target === td && e.key === "Enter") { e.preventDefault(); open(td); }
  });
})();
